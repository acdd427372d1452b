package config

import (
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"

	"github.com/tmcp-dev/tmcp/pkg/authserver"
	"github.com/tmcp-dev/tmcp/pkg/cimd"
	"github.com/tmcp-dev/tmcp/pkg/resource"
	"github.com/tmcp-dev/tmcp/pkg/sandbox"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

// Files tmcp keeps in its state directory.
const (
	FileDatabase       = "tmcp.db"
	FileSandboxDB      = "sandbox.db"
	FileEncryptionKey  = "encryption.key"
	FileResourceSecret = "resource-secret"
)

// Auth is `serve auth`'s settings: the server config without the opened
// store, and where that store lives.
type Auth struct {
	Server    authserver.Config
	StorePath string
	StateDir  string
	AuditLog  string
}

// LoadAuth reads and validates the auth server's settings. Keys that are
// not configured are generated once in the state directory.
func LoadAuth(v *viper.Viper) (*Auth, error) {
	a := &Auth{StateDir: StateDir(v)}
	port := v.GetInt(KeyAuthPort)
	if port < 0 || port > 65535 {
		return nil, fmt.Errorf("--port %d is not a TCP port", port)
	}
	cfg := authserver.Config{
		Addr:            net.JoinHostPort(v.GetString(KeyAuthHost), strconv.Itoa(port)),
		Issuer:          v.GetString(KeyAuthIssuer),
		ScopesSupported: ParseScopeList(v.GetString(KeyAuthScopes)),
		CORSOrigins:     v.GetStringSlice(KeyAuthCORSOrigins),
		JWTIssuer:       v.GetString(KeyJWTIssuer),
		ClientLookup:    v.GetBool(KeyAuthClientLookup),
		TokenFormat:     v.GetString(KeyAuthTokenFormat),
		CIMD:            cimd.Options{AllowPrivate: v.GetBool(KeyAuthDev)},
		Registration: authserver.RegistrationPolicy{RedirectSchemes: v.GetStringSlice(KeyAuthRegSchemes),
			InitialAccessToken: v.GetString(KeyAuthRegToken)},
		Limits: authserver.Limits{PerIP: v.GetInt(KeyAuthRateLimit), Registrations: v.GetInt(KeyAuthRegLimit),
			PerClient: v.GetInt(KeyAuthClientLimit), FailedAuth: v.GetInt(KeyAuthFailedLimit)},
		DefaultScope: ParseScopeList(v.GetString(KeyTMScope)),
		TLSCert:      v.GetString(KeyAuthTLSCert),
		TLSKey:       v.GetString(KeyAuthTLSKey),
		Upstream:     LoadUpstream(v),
	}
	if cfg.Issuer == "" && port != 0 {
		cfg.Issuer = AuthIssuer(v)
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return nil, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	if cfg.Upstream.ClientID == "" || cfg.Upstream.ClientSecret == "" {
		return nil, fmt.Errorf("tmcp's client at TaskManager is not configured: set --client-id and --client-secret (or TASKMANAGER_CLIENT_ID and TASKMANAGER_CLIENT_SECRET); `tmcp client register` creates them")
	}
	var err error
	for _, d := range []struct {
		key string
		dst *time.Duration
	}{{KeyAuthAccessTTL, &cfg.AccessTTL}, {KeyAuthRefreshTTL, &cfg.RefreshTTL}, {KeyAuthRefreshGrace, &cfg.RefreshGrace}} {
		if *d.dst, err = duration(v, d.key); err != nil {
			return nil, err
		}
	}
	if cfg.EncryptionKey, err = EncryptionKey(v); err != nil {
		return nil, err
	}
	if cfg.Resources, err = resourceServers(v, a.StateDir); err != nil {
		return nil, err
	}
	a.StorePath = StorePath(v)
	a.AuditLog = v.GetString(KeyAuthAuditLog)
	a.Server = cfg
	return a, nil
}

// resourceServers reads auth.resource_servers from the config file, or
// builds the single default one from the resource server's host and port.
func resourceServers(v *viper.Viper, stateDir string) ([]authserver.ResourceServer, error) {
	var list []struct {
		Resource     string `mapstructure:"resource"`
		ClientID     string `mapstructure:"client_id"`
		ClientSecret string `mapstructure:"client_secret"`
	}
	if err := v.UnmarshalKey(KeyAuthResources, &list); err != nil {
		return nil, fmt.Errorf("%s: %w", KeyAuthResources, err)
	}
	var out []authserver.ResourceServer
	for _, r := range list {
		out = append(out, authserver.ResourceServer{Resource: r.Resource, ClientID: r.ClientID, ClientSecret: r.ClientSecret})
	}
	if len(out) > 0 {
		return out, nil
	}
	secret, err := ResourceSecret(v, stateDir)
	if err != nil {
		return nil, err
	}
	return []authserver.ResourceServer{{Resource: DefaultResource(v), ClientID: v.GetString(KeyAuthResClientID), ClientSecret: secret}}, nil
}

// ResourceSecret is the resource server's introspection secret: the
// configured one, else one generated once in the state directory, which a
// resource server on the same machine reads too.
func ResourceSecret(v *viper.Viper, stateDir string) (string, error) {
	if s := v.GetString(KeyAuthResSecret); s != "" {
		return s, nil
	}
	s, err := secrets.LoadOrCreateSecret(filepath.Join(stateDir, FileResourceSecret))
	if err != nil {
		return "", fmt.Errorf("resource server secret: %w", err)
	}
	return s, nil
}

// DefaultResource is the MCP URL tokens are bound to by default.
func DefaultResource(v *viper.Viper) string {
	if r := v.GetString(KeyAuthResource); r != "" {
		return r
	}
	if u := v.GetString(KeyResourcePublicURL); u != "" {
		return u
	}
	scheme := "http"
	if v.GetString(KeyResourceTLSCert) != "" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://%s/mcp", scheme, net.JoinHostPort(v.GetString(KeyResourceHost), strconv.Itoa(v.GetInt(KeyResourcePort))))
}

// LoadUpstream reads TaskManager's endpoints and tmcp's client there.
func LoadUpstream(v *viper.Viper) upstream.Config {
	return upstream.Config{
		Issuer:            v.GetString(KeyTMIssuer),
		BaseURL:           strings.TrimSuffix(v.GetString(KeyTMBaseURL), "/"),
		AuthorizeEndpoint: v.GetString(KeyTMAuthorize),
		TokenEndpoint:     v.GetString(KeyTMToken),
		ClientsEndpoint:   v.GetString(KeyTMClients),
		UserinfoEndpoint:  v.GetString(KeyTMUserinfo),
		JWKSEndpoint:      v.GetString(KeyTMJWKS),
		ClientID:          v.GetString(KeyTMClientID),
		ClientSecret:      v.GetString(KeyTMSecret),
		AuthMethod:        v.GetString(KeyTMAuthMethod),
	}
}

// LoadSandbox reads `serve sandbox`'s settings.
func LoadSandbox(v *viper.Viper) (sandbox.Config, error) {
	port := v.GetInt(KeySandboxPort)
	if port < 0 || port > 65535 {
		return sandbox.Config{}, fmt.Errorf("--port %d is not a TCP port", port)
	}
	cfg := sandbox.Config{
		Addr:            net.JoinHostPort(v.GetString(KeySandboxHost), strconv.Itoa(port)),
		PublicURL:       v.GetString(KeySandboxPublicURL),
		DBPath:          filepath.Join(StateDir(v), FileSandboxDB),
		CookieName:      v.GetString(KeyTMCookie),
		DemoEmail:       v.GetString(KeySandboxEmail),
		DemoPassword:    v.GetString(KeySandboxPassword),
		ClientID:        v.GetString(KeySandboxClientID),
		ClientSecret:    v.GetString(KeySandboxClientSecret),
		RedirectURIs:    v.GetStringSlice(KeySandboxRedirectURIs),
		TLSCert:         v.GetString(KeySandboxTLSCert),
		TLSKey:          v.GetString(KeySandboxTLSKey),
		JWTAccessTokens: v.GetBool(KeySandboxJWT),
		FailedLogins:    v.GetInt(KeySandboxLoginLimit),
		Discovery:       v.GetBool(KeySandboxDiscovery),
	}
	if cfg.ClientID != "" && len(cfg.RedirectURIs) == 0 {
		cfg.RedirectURIs = []string{fmt.Sprintf("http://localhost:%d/oauth/callback", DefaultAuthPort)}
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return cfg, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	return cfg, nil
}

// LogLevel parses the log level setting.
func LogLevel(v *viper.Viper) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v.GetString(KeyLogLevel))); err != nil {
		return l, fmt.Errorf("log level %q: use debug, info, warn or error", v.GetString(KeyLogLevel))
	}
	return l, nil
}

func duration(v *viper.Viper, key string) (time.Duration, error) {
	d, err := time.ParseDuration(v.GetString(key))
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: %q is not a positive duration (like 1h or 30m)", key, v.GetString(key))
	}
	return d, nil
}

// LoadResource reads `serve resource`'s settings.
func LoadResource(v *viper.Viper) (resource.Config, error) {
	port := v.GetInt(KeyResourcePort)
	if port < 0 || port > 65535 {
		return resource.Config{}, fmt.Errorf("--port %d is not a TCP port", port)
	}
	cfg := resource.Config{
		Addr:           net.JoinHostPort(v.GetString(KeyResourceHost), strconv.Itoa(port)),
		Resource:       DefaultResource(v),
		AuthServerURL:  v.GetString(KeyResourceAuthURL),
		ClientID:       v.GetString(KeyAuthResClientID),
		TaskManager:    strings.TrimSuffix(v.GetString(KeyTMBaseURL), "/"),
		DefaultScope:   ParseScopeList(v.GetString(KeyTMScope)),
		Transport:      v.GetString(KeyResourceTransport),
		AllowedOrigins: v.GetStringSlice(KeyResourceOrigins),
		AllowedHosts:   v.GetStringSlice(KeyResourceHosts),
		TLSCert:        v.GetString(KeyResourceTLSCert),
		TLSKey:         v.GetString(KeyResourceTLSKey),
	}
	if port == 0 && v.GetString(KeyResourcePublicURL) == "" && v.GetString(KeyAuthResource) == "" {
		cfg.Resource = "" // derived from the listener
	}
	if cfg.Transport == "streamable-http" || cfg.Transport == "http" {
		cfg.Transport = resource.TransportStreamable
	}
	if (cfg.TLSCert == "") != (cfg.TLSKey == "") {
		return cfg, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	ttl, err := time.ParseDuration(v.GetString(KeyResourceCacheTTL))
	if err != nil || ttl < 0 {
		return cfg, fmt.Errorf("%s: %q is not a duration (like 30s; 0 turns the cache off)", KeyResourceCacheTTL, v.GetString(KeyResourceCacheTTL))
	}
	cfg.CacheTTL = ttl
	if cfg.ClientSecret, err = ResourceSecret(v, StateDir(v)); err != nil {
		return cfg, err
	}
	return cfg, nil
}

// AuthIssuer is the auth server's public URL as configured, for commands
// that need it without running the server.
func AuthIssuer(v *viper.Viper) string {
	if iss := v.GetString(KeyAuthIssuer); iss != "" {
		return strings.TrimSuffix(iss, "/")
	}
	scheme := "http"
	if v.GetString(KeyAuthTLSCert) != "" {
		scheme = "https"
	}
	return fmt.Sprintf("%s://localhost:%d", scheme, v.GetInt(KeyAuthPort))
}

// StorePath is the configured store location, or the SQLite file in the
// state directory.
func StorePath(v *viper.Viper) string {
	if s := v.GetString(KeyAuthStore); s != "" {
		return s
	}
	return filepath.Join(StateDir(v), FileDatabase)
}

// EncryptionKey is the configured key, or the one kept in the state
// directory (made on first use).
func EncryptionKey(v *viper.Viper) ([]byte, error) {
	if key := v.GetString(KeyAuthEncryptionKey); key != "" {
		k, err := secrets.DecodeKey(key)
		if err != nil {
			return nil, fmt.Errorf("encryption key: %w", err)
		}
		return k, nil
	}
	k, err := secrets.LoadOrCreateKey(filepath.Join(StateDir(v), FileEncryptionKey))
	if err != nil {
		return nil, fmt.Errorf("encryption key: %w", err)
	}
	return k, nil
}
