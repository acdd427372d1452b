// Package serve is the one place where settings become servers: it builds
// each server's typed Config (authserver, resource, sandbox, upstream)
// from a command's settings, and opens the store that the auth server and
// the operator commands share. The `tmcp serve …` commands live in its
// sub-packages.
package serve

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/cli/version"
	"github.com/tmcp-dev/tmcp/internal/confcheck"
	"github.com/tmcp-dev/tmcp/internal/config"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/backend"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Auth is `serve auth`'s settings: the server config without the opened
// store, and where that store lives.
type Auth struct {
	Server       authserver.Config
	StorePath    string
	StoreTimeout time.Duration
	AuditLog     string
	// AdminSession registers tmcp at TaskManager when no client is
	// configured or stored; "-" in the setting is read by the command.
	AdminSession upstream.Session
	// Port is the listening port, for errors that name it.
	Port int
}

// AuthConfig reads and validates the auth server's settings. Secrets that
// are not configured are generated once in the state directory.
func AuthConfig(v *viper.Viper) (*Auth, error) {
	addr, port, err := listenAddr(v, config.KeyAuthHost, config.KeyAuthPort)
	if err != nil {
		return nil, err
	}
	opsAddr, err := opsAddr(v, config.KeyAuthOpsAddr)
	if err != nil {
		return nil, err
	}
	cfg := authserver.Config{
		Addr:         addr,
		OpsAddr:      opsAddr,
		Issuer:       v.GetString(config.KeyAuthIssuer),
		JWTIssuer:    v.GetString(config.KeyJWTIssuer),
		ClientLookup: v.GetBool(config.KeyAuthClientLookup),
		TokenFormat:  v.GetString(config.KeyAuthTokenFormat),
		RequireDPoP:  v.GetBool(config.KeyAuthRequireDPoP),
		DPoPNonce:    v.GetBool(config.KeyAuthDPoPNonce),
		CIMD:         cimd.Options{AllowPrivate: v.GetBool(config.KeyAuthDev)},
		Registration: authserver.RegistrationPolicy{
			InitialAccessToken: v.GetString(config.KeyAuthRegToken),
		},
		Limits: authserver.Limits{
			PerIP: v.GetInt(config.KeyAuthRateLimit), Registrations: v.GetInt(config.KeyAuthRegLimit), AllRegistrations: v.GetInt(config.KeyAuthRegAllLimit),
			PerClient: v.GetInt(config.KeyAuthClientLimit), FailedAuth: v.GetInt(config.KeyAuthFailedLimit),
		},
		TLSCert:  v.GetString(config.KeyAuthTLSCert),
		TLSKey:   v.GetString(config.KeyAuthTLSKey),
		Upstream: Upstream(v),
		// A stale client is found at start, not at a user's sign-in.
		CheckUpstreamClient: true,
		Version:             version.Version,
	}
	for _, key := range []string{config.KeyAuthIssuer, config.KeyTMBaseURL, config.KeyTMIssuer, config.KeyAuthResource} {
		if err := checkURL(v, key); err != nil {
			return nil, err
		}
	}
	if err := checkNotNegative(v, config.KeyAuthRateLimit, config.KeyAuthRegLimit, config.KeyAuthRegAllLimit, config.KeyAuthClientLimit, config.KeyAuthFailedLimit); err != nil {
		return nil, err
	}
	if err := backend.Check(StorePath(v)); err != nil {
		return nil, fmt.Errorf("%s: %w", name(config.KeyAuthStore), err)
	}
	var proxies []string
	for _, l := range []struct {
		key string
		dst *[]string
	}{{config.KeyAuthScopes, &cfg.ScopesSupported}, {config.KeyTMScope, &cfg.DefaultScope}, {config.KeyAuthCORSOrigins, &cfg.CORSOrigins},
		{config.KeyAuthRegSchemes, &cfg.Registration.RedirectSchemes}, {config.KeyAuthTrustedProxy, &proxies},
		{config.KeyAuthAllowUsers, &cfg.Admission.Users}, {config.KeyAuthAllowDomains, &cfg.Admission.Domains},
		{config.KeyAuthAllowGroups, &cfg.Admission.Groups}} {
		if *l.dst, err = list(v, l.key); err != nil {
			return nil, err
		}
	}
	for _, cidr := range proxies {
		p, err := netip.ParsePrefix(cidr)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a CIDR like 10.0.0.0/8", name(config.KeyAuthTrustedProxy), cidr)
		}
		cfg.TrustedProxies = append(cfg.TrustedProxies, p)
	}
	if cfg.Issuer == "" && port != 0 {
		cfg.Issuer = AuthIssuer(v)
	}
	if err := tlsPair(config.KeyAuthTLSCert, config.KeyAuthTLSKey, cfg.TLSCert, cfg.TLSKey); err != nil {
		return nil, err
	}
	for _, key := range []string{config.KeyTMAuthorize, config.KeyTMToken, config.KeyTMUserinfo, config.KeyTMClients, config.KeyTMJWKS} {
		if e := v.GetString(key); e != "" && !strings.HasPrefix(e, "/") && !isHTTPURL(e) {
			return nil, fmt.Errorf("%s: %q is neither a path under the TaskManager URL (/…) nor an http(s) URL", name(key), e)
		}
	}
	if m := v.GetString(config.KeyTMAuthMethod); m != "" && !slices.Contains(config.Choices(config.KeyTMAuthMethod), m) {
		return nil, fmt.Errorf("%s: unknown client authentication method %q (use %s)", name(config.KeyTMAuthMethod), m,
			strings.Join(config.Choices(config.KeyTMAuthMethod), " or "))
	}
	if err := upstreamProvider(v, &cfg.Upstream); err != nil {
		return nil, err
	}
	for _, d := range cfg.Admission.Domains {
		if err := authserver.CheckAllowedDomain(d); err != nil {
			return nil, fmt.Errorf("%s: %w", name(config.KeyAuthAllowDomains), err)
		}
	}
	for _, u := range cfg.Admission.Users {
		if err := authserver.CheckAllowedUser(u); err != nil {
			return nil, fmt.Errorf("%s: %w", name(config.KeyAuthAllowUsers), err)
		}
	}
	if cfg.Upstream.ClientID != "" && cfg.Upstream.ClientSecret == "" {
		return nil, fmt.Errorf("tmcp's client at TaskManager is not configured: set --client-secret (or TASKMANAGER_CLIENT_SECRET), or --client-secret-file (TASKMANAGER_CLIENT_SECRET_FILE) naming a file that holds it, for client %q", cfg.Upstream.ClientID)
	}
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{config.KeyAuthAccessTTL, &cfg.AccessTTL}, {config.KeyAuthRefreshTTL, &cfg.RefreshTTL}, {config.KeyAuthRefreshGrace, &cfg.RefreshGrace}} {
		if *d.dst, err = positiveDuration(v, d.key); err != nil {
			return nil, err
		}
	}
	if cfg.ClientIdleTTL, err = duration(v, config.KeyAuthClientIdleTTL, "2160h; 0 keeps clients"); err != nil {
		return nil, err
	}
	if cfg.RefreshTTL < cfg.AccessTTL {
		return nil, fmt.Errorf("%s (%s) is shorter than %s (%s): a refresh token must outlive the access tokens it renews",
			name(config.KeyAuthRefreshTTL), cfg.RefreshTTL, name(config.KeyAuthAccessTTL), cfg.AccessTTL)
	}
	if cfg.EncryptionKey, err = EncryptionKey(v); err != nil {
		return nil, err
	}
	if cfg.Resources, err = resourceServers(v); err != nil {
		return nil, err
	}
	a := &Auth{Server: cfg, StorePath: StorePath(v), AuditLog: v.GetString(config.KeyAuthAuditLog), Port: port,
		AdminSession: upstream.ParseSession(v.GetString(config.KeyTMCookie), v.GetString(config.KeyTMAdminCookie))}
	if a.StoreTimeout, err = positiveDuration(v, config.KeyAuthStoreTimeout); err != nil {
		return nil, err
	}
	return a, nil
}

// StartAuth opens the store and builds the auth server; the caller runs
// it and then calls the returned close function.
func StartAuth(ctx context.Context, a *Auth, log *slog.Logger) (*authserver.Server, func(), error) {
	st, err := backend.Open(ctx, a.StorePath)
	if err != nil {
		return nil, nil, fmt.Errorf("open the store (%s): %w", backend.Describe(a.StorePath), err)
	}
	cfg := a.Server
	cfg.Store, cfg.Logger = store.WithTimeout(st, a.StoreTimeout), log
	closeAll := func() { st.Close() }
	if a.AuditLog != "" {
		f, err := os.OpenFile(a.AuditLog, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
		if err != nil {
			st.Close()
			return nil, nil, fmt.Errorf("audit log: %w", err)
		}
		cfg.Audit = slog.New(httpx.ContextHandler{Handler: slog.NewJSONHandler(f, nil)})
		closeAll = func() { st.Close(); f.Close() }
	}
	if err := authserver.CheckEncryptionKey(ctx, cfg.Store, cfg.EncryptionKey); err != nil {
		closeAll()
		return nil, nil, err
	}
	if cfg.Upstream.ClientID == "" {
		reg := authserver.SelfRegistration{Store: cfg.Store, EncryptionKey: cfg.EncryptionKey, Upstream: cfg.Upstream,
			Issuer: cfg.Issuer, Scopes: cfg.ScopesSupported, Session: a.AdminSession, Logger: log}
		if cfg.Upstream.ClientID, cfg.Upstream.ClientSecret, err = reg.UpstreamClient(ctx); err != nil {
			closeAll()
			return nil, nil, err
		}
	}
	srv, err := authserver.New(cfg)
	if err != nil {
		closeAll()
		return nil, nil, problems(err, authFields)
	}
	return srv, closeAll, nil
}

// resourceServers reads auth.resource_servers from the config file, or
// builds the single default one from the resource server's host and port.
// The default one's identity assertions are for --assertion-audience, else
// for resource.proxy when the same configuration names it (tmcp dev).
func resourceServers(v *viper.Viper) ([]authserver.ResourceServer, error) {
	var list []struct {
		Resource           string `mapstructure:"resource"`
		ClientID           string `mapstructure:"client_id"`
		ClientSecret       string `mapstructure:"client_secret"`
		AssertionAudiences any    `mapstructure:"assertion_audiences"`
	}
	if err := v.UnmarshalKey(config.KeyAuthResources, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", config.KeyAuthResources, err)
	}
	audiences, err := listOf(v, config.KeyAuthAssertionAud)
	if err != nil {
		return nil, err
	}
	var out []authserver.ResourceServer
	for _, r := range list {
		what := config.KeyAuthResources + " " + r.Resource
		if err := longEnough(what+" client_secret", r.ClientSecret); err != nil {
			return nil, err
		}
		rs := authserver.ResourceServer{Resource: r.Resource, ClientID: r.ClientID, ClientSecret: r.ClientSecret}
		if rs.AssertionAudiences, err = config.SplitList(r.AssertionAudiences, config.Words); err != nil {
			return nil, fmt.Errorf("%s assertion_audiences: %w", what, err)
		}
		for _, aud := range rs.AssertionAudiences {
			if !isHTTPURL(aud) {
				return nil, fmt.Errorf("%s assertion_audiences: %q is not an http(s) URL; add http:// or https://", what, aud)
			}
		}
		out = append(out, rs)
	}
	if len(out) > 0 {
		if len(audiences) > 0 {
			return nil, fmt.Errorf("%s names the default resource server's; with %s give each its assertion_audiences", name(config.KeyAuthAssertionAud), config.KeyAuthResources)
		}
		return out, nil
	}
	secret, err := ResourceSecret(v)
	if err != nil {
		return nil, err
	}
	if proxy := v.GetString(config.KeyResourceProxy); len(audiences) == 0 && proxy != "" {
		audiences = []string{proxy}
	}
	return []authserver.ResourceServer{{Resource: DefaultResource(v), ClientID: v.GetString(config.KeyAuthResClientID), ClientSecret: secret,
		AssertionAudiences: audiences}}, nil
}

// ResourceConfig reads `serve resource`'s settings.
func ResourceConfig(v *viper.Viper) (resource.Config, error) {
	addr, port, err := listenAddr(v, config.KeyResourceHost, config.KeyResourcePort)
	if err != nil {
		return resource.Config{}, err
	}
	for _, key := range []string{config.KeyResourceAuthURL, config.KeyResourcePublicURL, config.KeyTMBaseURL, config.KeyAuthResource} {
		if err := checkURL(v, key); err != nil {
			return resource.Config{}, err
		}
	}
	if err := checkNotNegative(v, config.KeyResourceMaxSess, config.KeyResourceMaxUser, config.KeyResourceMaxClient, config.KeyResourceMaxMsg); err != nil {
		return resource.Config{}, err
	}
	ops, err := opsAddr(v, config.KeyResourceOpsAddr)
	if err != nil {
		return resource.Config{}, err
	}
	cfg := resource.Config{
		Addr:          addr,
		OpsAddr:       ops,
		Resource:      DefaultResource(v),
		AuthServerURL: v.GetString(config.KeyResourceAuthURL),
		ClientID:      v.GetString(config.KeyAuthResClientID),
		TaskManager:   strings.TrimSuffix(v.GetString(config.KeyTMBaseURL), "/"),
		Transport:     v.GetString(config.KeyResourceTransport),
		TLSCert:       v.GetString(config.KeyResourceTLSCert),
		TLSKey:        v.GetString(config.KeyResourceTLSKey),
	}
	for _, l := range []struct {
		key string
		dst *[]string
	}{{config.KeyAuthScopes, &cfg.ScopesSupported}, {config.KeyTMScope, &cfg.DefaultScope},
		{config.KeyResourceOrigins, &cfg.AllowedOrigins}, {config.KeyResourceHosts, &cfg.AllowedHosts}} {
		if *l.dst, err = list(v, l.key); err != nil {
			return cfg, err
		}
	}
	if port == 0 && v.GetString(config.KeyResourcePublicURL) == "" && v.GetString(config.KeyAuthResource) == "" {
		cfg.Resource = "" // derived from the listener
	}
	if cfg.Transport == "streamable-http" || cfg.Transport == "http" {
		cfg.Transport = resource.TransportStreamable
	}
	if err := tlsPair(config.KeyResourceTLSCert, config.KeyResourceTLSKey, cfg.TLSCert, cfg.TLSKey); err != nil {
		return cfg, err
	}
	ttl, err := time.ParseDuration(v.GetString(config.KeyResourceCacheTTL))
	if err != nil || ttl < 0 {
		return cfg, fmt.Errorf("%s: %q is not a duration (like 30s; 0 turns the cache off)", name(config.KeyResourceCacheTTL), v.GetString(config.KeyResourceCacheTTL))
	}
	cfg.CacheTTL = ttl
	if cfg.SessionIdleTTL, err = time.ParseDuration(v.GetString(config.KeyResourceIdleTTL)); err != nil || cfg.SessionIdleTTL < 0 {
		return cfg, fmt.Errorf("%s: %q is not a duration (like 30m; 0 keeps idle sessions)", name(config.KeyResourceIdleTTL), v.GetString(config.KeyResourceIdleTTL))
	}
	cfg.Sessions = resource.SessionLimits{Max: v.GetInt(config.KeyResourceMaxSess), PerUser: v.GetInt(config.KeyResourceMaxUser),
		PerClient: v.GetInt(config.KeyResourceMaxClient)}
	if cfg.StdioEnv, err = list(v, config.KeyResourceStdioEnv); err != nil {
		return cfg, err
	}
	if cfg.MaxMessage = v.GetInt(config.KeyResourceMaxMsg); cfg.MaxMessage < minMessage {
		return cfg, fmt.Errorf("%s: %d bytes is too small for an MCP answer; use at least %d (the default is %d)", name(config.KeyResourceMaxMsg), cfg.MaxMessage, minMessage, config.Lookup(config.KeyResourceMaxMsg).Default)
	}
	cfg.ForwardTaskManagerToken = v.GetBool(config.KeyResourceForwardTM)
	cfg.IdentityAssertion = v.GetBool(config.KeyResourceAssertion)
	cfg.HideUnauthorized = v.GetBool(config.KeyResourceHide)
	cfg.RequireDPoP = v.GetBool(config.KeyResourceReqDPoP)
	cfg.DPoPNonce = v.GetBool(config.KeyResourceDPoPNonce)
	if err := checkURL(v, config.KeyResourceProxy); err != nil {
		return cfg, err
	}
	cfg.Proxy = v.GetString(config.KeyResourceProxy)
	cfg.ProxyTransport = v.GetString(config.KeyResourceProxyVia)
	if cfg.ProxyTimeout, err = time.ParseDuration(v.GetString(config.KeyResourceProxyTTL)); err != nil || cfg.ProxyTimeout <= 0 {
		return cfg, fmt.Errorf("%s: %q is not a positive duration (like 30s)", name(config.KeyResourceProxyTTL), v.GetString(config.KeyResourceProxyTTL))
	}
	for _, p := range []struct {
		key    string
		policy *resource.ScopePolicy
	}{{config.KeyResourceToolScope, &cfg.ToolPolicy}, {config.KeyResourcePromptSc, &cfg.PromptPolicy}, {config.KeyResourceResSc, &cfg.ResourcePolicy}} {
		rules, err := list(v, p.key)
		if err != nil {
			return cfg, err
		}
		if *p.policy, err = resource.ParseScopePolicy(rules); err != nil {
			return cfg, fmt.Errorf("%s: %w", name(p.key), err)
		}
	}
	if cfg.ClientSecret, err = ResourceSecret(v); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// SandboxConfig reads `serve sandbox`'s settings.
func SandboxConfig(v *viper.Viper) (sandbox.Config, error) {
	addr, _, err := listenAddr(v, config.KeySandboxHost, config.KeySandboxPort)
	if err != nil {
		return sandbox.Config{}, err
	}
	if err := checkURL(v, config.KeySandboxPublicURL); err != nil {
		return sandbox.Config{}, err
	}
	if err := checkNotNegative(v, config.KeySandboxLoginLimit); err != nil {
		return sandbox.Config{}, err
	}
	cfg := sandbox.Config{
		Addr:            addr,
		PublicURL:       v.GetString(config.KeySandboxPublicURL),
		DBPath:          filepath.Join(config.StateDir(v), config.FileSandboxDB),
		CookieName:      v.GetString(config.KeyTMCookie),
		DemoEmail:       v.GetString(config.KeySandboxEmail),
		DemoPassword:    v.GetString(config.KeySandboxPassword),
		ClientID:        v.GetString(config.KeySandboxClientID),
		ClientSecret:    v.GetString(config.KeySandboxClientSecret),
		TLSCert:         v.GetString(config.KeySandboxTLSCert),
		TLSKey:          v.GetString(config.KeySandboxTLSKey),
		JWTAccessTokens: v.GetBool(config.KeySandboxJWT),
		FailedLogins:    v.GetInt(config.KeySandboxLoginLimit),
		Discovery:       v.GetBool(config.KeySandboxDiscovery),
	}
	if cfg.RedirectURIs, err = list(v, config.KeySandboxRedirectURIs); err != nil {
		return cfg, err
	}
	if cfg.ClientID != "" && len(cfg.RedirectURIs) == 0 {
		cfg.RedirectURIs = []string{AuthIssuer(v) + "/oauth/callback"}
	}
	return cfg, tlsPair(config.KeySandboxTLSCert, config.KeySandboxTLSKey, cfg.TLSCert, cfg.TLSKey)
}

// Upstream reads TaskManager's endpoints and tmcp's client there.
func Upstream(v *viper.Viper) upstream.Config {
	cfg := upstream.Config{
		Issuer:            v.GetString(config.KeyTMIssuer),
		BaseURL:           strings.TrimSuffix(v.GetString(config.KeyTMBaseURL), "/"),
		AuthorizeEndpoint: v.GetString(config.KeyTMAuthorize),
		TokenEndpoint:     v.GetString(config.KeyTMToken),
		ClientsEndpoint:   v.GetString(config.KeyTMClients),
		UserinfoEndpoint:  v.GetString(config.KeyTMUserinfo),
		JWKSEndpoint:      v.GetString(config.KeyTMJWKS),
		ClientID:          v.GetString(config.KeyTMClientID),
		ClientSecret:      v.GetString(config.KeyTMSecret),
		AuthMethod:        v.GetString(config.KeyTMAuthMethod),
	}
	cfg.UsernameClaim = v.GetString(config.KeyTMUserClaim)
	cfg.GroupsClaim = v.GetString(config.KeyTMGroupClaim)
	cfg.ProviderVerifiesEmail = v.GetBool(config.KeyTMVerifiesEml)
	return cfg
}

// upstreamProvider applies the provider settings that can be wrong: the
// preset and the scope map.
func upstreamProvider(v *viper.Viper, cfg *upstream.Config) error {
	values, err := list(v, config.KeyTMScopeMap)
	if err != nil {
		return err
	}
	if cfg.Scopes, err = upstream.ParseScopeMap(values); err != nil {
		return fmt.Errorf("%s: %w", name(config.KeyTMScopeMap), err)
	}
	err = upstream.ApplyPreset(cfg, v.GetString(config.KeyTMPreset), upstream.PresetOptions{
		Tenant: v.GetString(config.KeyTMTenant), Audience: v.GetString(config.KeyTMAudience)})
	if err != nil {
		return fmt.Errorf("%s: %w", name(config.KeyTMPreset), err)
	}
	return nil
}

// AuthIssuer is the auth server's public URL as configured, for commands
// that need it without running the server.
func AuthIssuer(v *viper.Viper) string {
	if iss := v.GetString(config.KeyAuthIssuer); iss != "" {
		return strings.TrimSuffix(iss, "/")
	}
	return fmt.Sprintf("%s://localhost:%d", scheme(v, config.KeyAuthTLSCert), v.GetInt(config.KeyAuthPort))
}

// DefaultResource is the MCP URL tokens are bound to by default.
func DefaultResource(v *viper.Viper) string {
	if r := v.GetString(config.KeyAuthResource); r != "" {
		return r
	}
	if u := v.GetString(config.KeyResourcePublicURL); u != "" {
		return u
	}
	return fmt.Sprintf("%s://%s/mcp", scheme(v, config.KeyResourceTLSCert),
		net.JoinHostPort(v.GetString(config.KeyResourceHost), strconv.Itoa(v.GetInt(config.KeyResourcePort))))
}

// ResourceSecret is the resource server's introspection secret: the
// configured one, else one generated once in the state directory, which a
// resource server on the same machine reads too.
func ResourceSecret(v *viper.Viper) (string, error) {
	if s := v.GetString(config.KeyAuthResSecret); s != "" {
		return s, longEnough(name(config.KeyAuthResSecret), s)
	}
	s, err := secrets.LoadOrCreateSecret(filepath.Join(config.StateDir(v), config.FileResourceSecret))
	if err != nil {
		return "", fmt.Errorf("resource server secret: %w", err)
	}
	return s, nil
}

// StorePath is the configured store location, or the SQLite file in the
// state directory.
func StorePath(v *viper.Viper) string {
	if s := v.GetString(config.KeyAuthStore); s != "" {
		return s
	}
	return filepath.Join(config.StateDir(v), config.FileDatabase)
}

// OpenStore opens (and migrates) the auth server's store for an operator
// command, and says where it is without any password.
func OpenStore(ctx context.Context, v *viper.Viper) (store.Store, string, error) {
	loc := StorePath(v)
	st, err := backend.Open(ctx, loc)
	if err != nil {
		return nil, "", fmt.Errorf("open %s: %w", backend.Describe(loc), err)
	}
	return st, backend.Describe(loc), nil
}

// EncryptionKey is the configured key, or the one kept in the state
// directory (made on first use).
func EncryptionKey(v *viper.Viper) ([]byte, error) {
	if key := v.GetString(config.KeyAuthEncryptionKey); key != "" {
		k, err := secrets.DecodeKey(key)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name(config.KeyAuthEncryptionKey), err)
		}
		return k, nil
	}
	k, err := secrets.LoadOrCreateKey(filepath.Join(config.StateDir(v), config.FileEncryptionKey))
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return k, nil
}

func listenAddr(v *viper.Viper, hostKey, portKey string) (string, int, error) {
	port, err := strconv.Atoi(strings.TrimSpace(v.GetString(portKey)))
	if err != nil || port < 0 || port > 65535 {
		return "", 0, fmt.Errorf("%s: %q is not a TCP port (0-65535)", name(portKey), v.GetString(portKey))
	}
	host := v.GetString(hostKey)
	if !validHost(host) {
		return "", 0, fmt.Errorf("%s: %q is not a host name or IP address to listen on", name(hostKey), host)
	}
	return net.JoinHostPort(host, strconv.Itoa(port)), port, nil
}

// validHost accepts "" (every address), an IP address or a DNS name.
func validHost(host string) bool {
	if host == "" {
		return true
	}
	if _, err := netip.ParseAddr(strings.Trim(host, "[]")); err == nil {
		return true
	}
	for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") ||
			strings.IndexFunc(label, func(r rune) bool {
				return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_')
			}) >= 0 {
			return false
		}
	}
	return true
}

// name names a setting the way an operator sets it: flag, environment
// variable and config key.
func name(key string) string { return config.Lookup(key).Name() }

// opsAddr reads an ops listener's address: HOST:PORT, or "" for none.
func opsAddr(v *viper.Viper, key string) (string, error) {
	addr := strings.TrimSpace(v.GetString(key))
	if addr == "" {
		return "", nil
	}
	if _, port, err := net.SplitHostPort(addr); err != nil || port == "" {
		return "", fmt.Errorf("%s: %q is no HOST:PORT (like 127.0.0.1:9464; empty turns the listener off)", name(key), addr)
	}
	return addr, nil
}

// listOf reads a list setting of http(s) URLs.
func listOf(v *viper.Viper, key string) ([]string, error) {
	urls, err := list(v, key)
	for _, u := range urls {
		if err == nil && !isHTTPURL(u) {
			err = fmt.Errorf("%s: %q is not an http(s) URL; add http:// or https://", name(key), u)
		}
	}
	return urls, err
}

// list reads a list setting (see config.List); a bad entry is an error
// that names the setting.
func list(v *viper.Viper, key string) ([]string, error) {
	entries, err := config.List(v, key)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name(key), err)
	}
	return entries, nil
}

// checkURL refuses a setting that must be an absolute http(s) URL.
func checkURL(v *viper.Viper, key string) error {
	if raw := v.GetString(key); raw != "" && !isHTTPURL(raw) {
		return fmt.Errorf("%s: %q is not an http(s) URL; add http:// or https://", name(key), raw)
	}
	return nil
}

func isHTTPURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// checkNotNegative refuses negative limits.
func checkNotNegative(v *viper.Viper, keys ...string) error {
	for _, key := range keys {
		n, err := strconv.Atoi(strings.TrimSpace(v.GetString(key)))
		if err != nil || n < 0 {
			return fmt.Errorf("%s: %q is not a whole number of 0 or more", name(key), v.GetString(key))
		}
	}
	return nil
}

func scheme(v *viper.Viper, certKey string) string {
	if v.GetString(certKey) != "" {
		return "https"
	}
	return "http"
}

// tlsPair checks the TLS settings at start: both or neither, and files
// that load (not a server that says "listening" and then exits).
func tlsPair(certKey, keyKey, cert, key string) error {
	if (cert == "") != (key == "") {
		return fmt.Errorf("%s and %s go together: set both or neither", name(certKey), name(keyKey))
	}
	if cert != "" {
		if _, err := tls.LoadX509KeyPair(cert, key); err != nil {
			return fmt.Errorf("--tls-cert/--tls-key: %v", err)
		}
	}
	return nil
}

func positiveDuration(v *viper.Viper, key string) (time.Duration, error) {
	d, err := time.ParseDuration(v.GetString(key))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration (like 1h or 30m)", name(key), v.GetString(key))
	}
	return d, nil
}

// duration reads a duration setting that may be 0; like says what one
// looks like.
func duration(v *viper.Viper, key, like string) (time.Duration, error) {
	d, err := time.ParseDuration(v.GetString(key))
	if err != nil || d < 0 {
		return 0, fmt.Errorf("%s: %q is not a duration (like %s)", name(key), v.GetString(key), like)
	}
	return d, nil
}

// PortInUse turns "address already in use" into a line naming the flag
// (and environment variable) that sets the port, or the ops listener's
// address (opsFlag, opsKey) when that is the one taken, and a host that
// cannot be listened on into one naming the host's setting; other
// errors pass.
func PortInUse(err error, flag, key string, port int, opsFlag, opsKey string) error {
	// The ops listener's address, not the server's host and port, may be
	// the one at fault: taken by a second server on one machine with the
	// default ops port, or by the server itself when both name one port.
	if opsKey != "" && errors.Is(err, httpx.ErrOpsListener) {
		setting := opsFlag + ", " + config.Lookup(opsKey).Env()[0]
		if !errors.Is(err, syscall.EADDRINUSE) {
			return fmt.Errorf("%v (%s)", err, setting)
		}
		addr := "address"
		var op *net.OpError
		if errors.As(err, &op) && op.Addr != nil {
			addr += " " + op.Addr.String()
		}
		return fmt.Errorf("the ops listener's %s is already in use (%s): stop what holds it, or choose another address (127.0.0.1:0 takes a free port, \"\" turns the listener off)",
			addr, setting)
	}
	var dns *net.DNSError
	if errors.As(err, &dns) {
		if host, ok := strings.CutSuffix(key, ".port"); ok {
			return fmt.Errorf("%s: cannot listen on %q: %v", name(host+".host"), dns.Name, dns.Err)
		}
	}
	if !errors.Is(err, syscall.EADDRINUSE) {
		return err
	}
	return fmt.Errorf("port %d is already in use (%s, %s): stop what holds it, or choose another port", port, flag, config.Lookup(key).Env()[0])
}

// minMessage is the smallest --max-message-size: what an initialize
// answer with a few tools takes.
const minMessage = 64 << 10

// minSecretLength is the shortest introspection secret accepted: a short
// one is guessed (the generated ones are 44 characters).
const minSecretLength = 16

func longEnough(what, secret string) error {
	if len(secret) < minSecretLength {
		return fmt.Errorf("%s is %d characters; use at least %d (openssl rand -base64 32 makes one)", what, len(secret), minSecretLength)
	}
	return nil
}

// resourceFields are the settings resource.Config's fields come from.
var resourceFields = map[string]string{
	"AuthServerURL": config.KeyResourceAuthURL, "ClientID": config.KeyAuthResClientID, "ClientSecret": config.KeyAuthResSecret,
	"DefaultScope": config.KeyTMScope, "Resource": config.KeyResourcePublicURL, "Transport": config.KeyResourceTransport,
	"ForwardTaskManagerToken": config.KeyResourceForwardTM, "IdentityAssertion": config.KeyResourceAssertion,
	"ToolPolicy": config.KeyResourceToolScope, "PromptPolicy": config.KeyResourcePromptSc, "ResourcePolicy": config.KeyResourceResSc,
	"HideUnauthorized": config.KeyResourceHide, "StdioEnv": config.KeyResourceStdioEnv, "Proxy": config.KeyResourceProxy,
	"ProxyTransport": config.KeyResourceProxyVia, "ProxyTimeout": config.KeyResourceProxyTTL, "MaxMessage": config.KeyResourceMaxMsg,
}

// authFields are the settings authserver.Config's fields come from.
var authFields = map[string]string{
	"Resources": config.KeyAuthResources, "TokenFormat": config.KeyAuthTokenFormat, "ScopesSupported": config.KeyAuthScopes,
	"DefaultScope": config.KeyTMScope, "AccessTTL": config.KeyAuthAccessTTL, "RefreshTTL": config.KeyAuthRefreshTTL,
	"RefreshGrace": config.KeyAuthRefreshGrace, "ClientIdleTTL": config.KeyAuthClientIdleTTL,
}

// sandboxFields are the settings sandbox.Config's fields come from.
var sandboxFields = map[string]string{
	"DemoEmail": config.KeySandboxEmail, "DemoPassword": config.KeySandboxPassword,
	"ClientSecret": config.KeySandboxClientSecret, "FailedLogins": config.KeySandboxLoginLimit,
}

// SandboxProblems names the settings behind the problems of a
// sandbox.Config, as ResourceProblems does.
func SandboxProblems(err error) error { return problems(err, sandboxFields) }

// ResourceProblems names the settings behind the problems of a
// resource.Config (its Validate): every problem on a line of its own,
// with the flag, environment variable and config key that set it.
func ResourceProblems(err error) error { return problems(err, resourceFields) }

func problems(err error, fields map[string]string) error {
	return confcheck.Rename(err, func(field string) string {
		if key, ok := fields[field]; ok {
			return name(key)
		}
		return ""
	})
}
