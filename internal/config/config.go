// Package config is the one place that knows tmcp's setting keys, their
// environment variable names (the seed's names keep working) and their
// defaults, and how list settings split. The command tree (internal/cli) binds
// flags and reads settings through viper with these keys; no server
// package sees viper: each takes a typed Config and validates it itself
// (Validate), its problems named by the field, which internal/cli/serve turns
// back into flag, environment and key names.
package config

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/spf13/viper"
)

// Default ports from the original design.
const (
	DefaultAuthPort     = 9000
	DefaultResourcePort = 8001
	DefaultCallbackPort = 3030
	DefaultSandboxPort  = 4321
)

// Default addresses of the servers' internal (ops) listeners: loopback
// only, the port Prometheus exporters conventionally take.
const (
	DefaultAuthOpsAddr     = "127.0.0.1:9464"
	DefaultResourceOpsAddr = "127.0.0.1:9465"
)

// Keys of the settings, as they appear in the config file.
const (
	KeyLogLevel  = "log_level"
	KeyLogFormat = "log_format"
	KeyStateDir  = "state_dir"

	KeyTMBaseURL     = "taskmanager.base_url"
	KeyTMClientID    = "taskmanager.client_id"
	KeyTMSecret      = "taskmanager.client_secret"
	KeyTMScope       = "taskmanager.mcp_scope"
	KeyTMAuthorize   = "taskmanager.authorize_endpoint"
	KeyTMToken       = "taskmanager.token_endpoint"
	KeyTMClients     = "taskmanager.clients_endpoint"
	KeyTMUserinfo    = "taskmanager.userinfo_endpoint"
	KeyTMJWKS        = "taskmanager.jwks_endpoint"
	KeyTMAuthMethod  = "taskmanager.auth_method"
	KeyJWTIssuer     = "taskmanager.jwt_issuer"
	KeyTMIssuer      = "taskmanager.issuer"
	KeyTMAdminCookie = "taskmanager.admin_session_cookie"
	KeySessionCookie = "session_cookie"
	KeyTMPreset      = "taskmanager.preset"
	KeyTMTenant      = "taskmanager.tenant"
	KeyTMAudience    = "taskmanager.audience"
	KeyTMScopeMap    = "taskmanager.upstream_scopes"
	KeyTMUserClaim   = "taskmanager.username_claim"
	KeyTMGroupClaim  = "taskmanager.groups_claim"
	KeyTMVerifiesEml = "taskmanager.provider_verifies_email"

	KeyAuthHost          = "auth.host"
	KeyAuthPort          = "auth.port"
	KeyAuthIssuer        = "auth.issuer"
	KeyAuthStore         = "auth.store"
	KeyAuthStoreTimeout  = "auth.store_timeout"
	KeyAuthEncryptionKey = "auth.encryption_key"
	KeyAuthScopes        = "auth.scopes_supported"
	KeyAuthAccessTTL     = "auth.access_token_ttl"
	KeyAuthRefreshTTL    = "auth.refresh_token_ttl"
	KeyAuthRefreshGrace  = "auth.refresh_grace"
	KeyAuthClientIdleTTL = "auth.client_idle_ttl"
	KeyAuthTLSCert       = "auth.tls_cert"
	KeyAuthTLSKey        = "auth.tls_key"
	KeyAuthResources     = "auth.resource_servers"
	KeyAuthResource      = "auth.resource"
	KeyAuthResClientID   = "auth.resource_client_id"
	KeyAuthResSecret     = "auth.resource_client_secret"
	KeyAuthAssertionAud  = "auth.assertion_audiences"
	KeyAuthCORSOrigins   = "auth.cors_origins"
	KeyAuthClientLookup  = "auth.taskmanager_client_lookup"
	KeyAuthRateLimit     = "auth.rate_limit"
	KeyAuthDev           = "auth.dev"
	KeyAuthTokenFormat   = "auth.token_format"
	KeyAuthAuditLog      = "auth.audit_log"
	KeyAuthRegSchemes    = "auth.registration_redirect_schemes"
	KeyAuthRegToken      = "auth.registration_access_token"
	KeyAuthRegLimit      = "auth.registration_limit"
	KeyAuthRegAllLimit   = "auth.registration_global_limit"
	KeyAuthClientLimit   = "auth.client_rate_limit"
	KeyAuthFailedLimit   = "auth.failed_auth_limit"
	KeyAuthTrustedProxy  = "auth.trusted_proxies"
	KeyAuthAllowUsers    = "auth.allowed_users"
	KeyAuthAllowDomains  = "auth.allowed_domains"
	KeyAuthAllowGroups   = "auth.allowed_groups"
	KeyAuthOpsAddr       = "auth.ops_addr"
	KeyAuthRequireDPoP   = "auth.require_dpop"
	KeyAuthDPoPNonce     = "auth.dpop_nonce"

	KeyResourceHost      = "resource.host"
	KeyResourcePort      = "resource.port"
	KeyResourceAuthURL   = "resource.auth_server_url"
	KeyResourcePublicURL = "resource.public_url"
	KeyResourceTransport = "resource.transport"
	KeyResourceCacheTTL  = "resource.cache_ttl"
	KeyResourceOrigins   = "resource.allowed_origins"
	KeyResourceHosts     = "resource.allowed_hosts"
	KeyResourceTLSCert   = "resource.tls_cert"
	KeyResourceTLSKey    = "resource.tls_key"
	KeyResourceIdleTTL   = "resource.session_idle_ttl"
	KeyResourceMaxSess   = "resource.max_sessions"
	KeyResourceMaxUser   = "resource.max_sessions_per_user"
	KeyResourceMaxClient = "resource.max_sessions_per_client"
	KeyResourceStdioEnv  = "resource.stdio_env"
	KeyResourceProxy     = "resource.proxy"
	KeyResourceProxyTTL  = "resource.proxy_timeout"
	KeyResourceProxyVia  = "resource.proxy_transport"
	KeyResourceMaxMsg    = "resource.max_message_size"
	KeyResourceToolScope = "resource.tool_scopes"
	KeyResourceForwardTM = "resource.forward_taskmanager_token"
	KeyResourceAssertion = "resource.identity_assertion"
	KeyResourcePromptSc  = "resource.prompt_scopes"
	KeyResourceHide      = "resource.hide_unauthorized"
	KeyResourceResSc     = "resource.resource_scopes"
	KeyResourceOpsAddr   = "resource.ops_addr"
	KeyResourceReqDPoP   = "resource.require_dpop"
	KeyResourceDPoPNonce = "resource.dpop_nonce"

	KeyFlowServerPort   = "flow.server_port"
	KeyFlowTransport    = "flow.transport"
	KeyFlowServer       = "flow.server"
	KeyFlowCallbackPort = "flow.callback_port"
	KeyFlowDPoP         = "flow.dpop"

	KeySandboxHost         = "sandbox.host"
	KeySandboxPort         = "sandbox.port"
	KeySandboxPublicURL    = "sandbox.public_url"
	KeyTMCookie            = "taskmanager.cookie_name"
	KeySandboxEmail        = "sandbox.demo_email"
	KeySandboxPassword     = "sandbox.demo_password"
	KeySandboxClientID     = "sandbox.client_id"
	KeySandboxClientSecret = "sandbox.client_secret"
	KeySandboxRedirectURIs = "sandbox.redirect_uris"
	KeySandboxTLSCert      = "sandbox.tls_cert"
	KeySandboxTLSKey       = "sandbox.tls_key"
	KeySandboxJWT          = "sandbox.jwt_access_tokens"
	KeySandboxLoginLimit   = "sandbox.failed_login_limit"
	KeySandboxDiscovery    = "sandbox.discovery"
)

// Setting is one key with its environment names, default and help.
type Setting struct {
	Key string
	// Flag is the setting's flag on the commands that run its server (a
	// command that runs several servers renames it, like dev's --auth-port).
	Flag    string
	env     []string
	Default any // string, int, bool or []string: the type of the setting
	Help    string
}

// Env is every environment name of the setting: the seed's names first,
// then TMCP_<KEY> with dots as underscores.
func (s Setting) Env() []string {
	return append(append([]string{}, s.env...), "TMCP_"+strings.ToUpper(strings.ReplaceAll(s.Key, ".", "_")))
}

// settings lists every key. The seed's environment names come first; each
// key also answers to TMCP_<KEY> with dots as underscores.
var settings = []Setting{
	{KeyLogLevel, "log-level", []string{"TMCP_LOG_LEVEL"}, "info", "log level: debug, info, warn, error"},
	{KeyLogFormat, "log-format", []string{"TMCP_LOG_FORMAT"}, "", "log format: json or text (default json when standard error is not a terminal)"},
	{KeyStateDir, "state-dir", []string{"TMCP_STATE_DIR"}, "", "where tmcp keeps its database and keys (default $XDG_STATE_HOME/tmcp)"},

	{KeyTMBaseURL, "taskmanager-url", []string{"TASKMANAGER_BASE_URL"}, "http://localhost:4321", "TaskManager base URL"},
	{KeyTMClientID, "client-id", []string{"TASKMANAGER_CLIENT_ID"}, "", "tmcp's OAuth client id at TaskManager"},
	{KeyTMSecret, "client-secret", []string{"TASKMANAGER_CLIENT_SECRET"}, "", "tmcp's OAuth client secret at TaskManager"},
	{KeyTMScope, "scope", []string{"TASKMANAGER_MCP_SCOPE"}, "read", "scope granted when an MCP client asks for none (several: separated by spaces or commas)"},
	{KeyTMIssuer, "upstream-issuer", nil, "", "an OpenID Connect / RFC 8414 provider to discover the upstream endpoints from, instead of the TaskManager paths"},
	{KeySessionCookie, "session-cookie", nil, "", "your TaskManager session cookie (value or name=value; - reads it from standard input; asked for without echo on a terminal)"},
	{KeyTMAdminCookie, "admin-session-cookie", []string{"TASKMANAGER_ADMIN_SESSION_COOKIE"}, "", "an operator's TaskManager session cookie (- reads it from standard input): with no --client-id, serve auth registers itself at TaskManager once and keeps the client in its store"},
	{KeyTMPreset, "upstream-preset", nil, "", "a provider that needs more than its issuer: github, google, entra (with --upstream-tenant) or auth0 (with --upstream-issuer)"},
	{KeyTMTenant, "upstream-tenant", nil, "", "with --upstream-preset entra: the directory (tenant) id or domain"},
	{KeyTMAudience, "upstream-audience", nil, "", "with --upstream-preset auth0: the API (audience) the provider's access tokens are for"},
	{KeyTMScopeMap, "upstream-scope", nil, []string{}, "what to ask the provider for: SCOPE… on every sign-in, or MCP-SCOPE=SCOPE… with that MCP scope (repeatable or comma-separated: a comma separates entries, spaces the scopes of one, and SCOPE… entries come first; default: TaskManager gets the MCP scopes, an OpenID provider \"openid email profile\")"},
	{KeyTMUserClaim, "username-claim", nil, "", "the provider's claim shown as the user's name, which --allowed-users then matches (default: the verified email, then preferred_username, then sub; only sub and a verified email are matched)"},
	{KeyTMVerifiesEml, "provider-verifies-email", []string{"TMCP_PROVIDER_VERIFIES_EMAIL"}, false, "state that the provider issues only addresses it verified: an email claim without email_verified (TaskManager's tokens) then counts for --allowed-users, --allowed-domains and X-Forwarded-Email (an email_verified other than true never does)"},
	{KeyTMGroupClaim, "groups-claim", nil, "", "the provider's claim listing the user's groups, for --allowed-groups (default groups)"},
	{KeyTMAuthorize, "upstream-authorize-url", nil, "/api/oauth/authorize", "the provider's authorization endpoint (a path under the TaskManager URL, or a URL)"},
	{KeyTMToken, "upstream-token-url", nil, "/api/oauth/token", "the provider's token endpoint (a path under the TaskManager URL, or a URL)"},
	{KeyTMClients, "", nil, "/api/oauth/clients", "TaskManager clients endpoint"},
	{KeyTMUserinfo, "upstream-userinfo-url", nil, "/api/oauth/userinfo", "the provider's userinfo endpoint (a path under the TaskManager URL, or a URL)"},
	{KeyTMJWKS, "", nil, "/api/oauth/jwks", "TaskManager JWKS endpoint"},
	{KeyTMAuthMethod, "upstream-auth", nil, "client_secret_basic", "how tmcp authenticates at TaskManager's token endpoint: client_secret_basic or client_secret_post"},
	{KeyJWTIssuer, "jwt-issuer", []string{"JWT_ISSUER"}, "", "issuer expected in TaskManager's JWTs (default: the TaskManager base URL)"},

	{KeyAuthHost, "host", nil, "localhost", "address the auth server listens on"},
	{KeyAuthPort, "port", nil, DefaultAuthPort, "port the auth server listens on"},
	{KeyAuthIssuer, "issuer", nil, "", "public URL (issuer) of the auth server (default http://localhost:<port>)"},
	{KeyAuthStore, "store", []string{"TMCP_STORE"}, "", "storage: a SQLite file path (default <state dir>/tmcp.db) or a postgres:// URL"},
	{KeyAuthStoreTimeout, "store-timeout", nil, "5s", "how long one storage call may take before the request is answered 503 (a frozen database never hangs a request)"},
	{KeyAuthEncryptionKey, "", []string{"TMCP_ENCRYPTION_KEY"}, "", "32-byte key (base64 or hex) that encrypts TaskManager tokens at rest (default: generated in the state dir)"},
	{KeyAuthScopes, "", nil, "read write", "scopes MCP clients may request (separated by spaces or commas)"},
	{KeyAuthAccessTTL, "access-ttl", nil, "1h", "lifetime of MCP access tokens"},
	{KeyAuthRefreshTTL, "refresh-ttl", nil, "720h", "lifetime of MCP refresh tokens"},
	{KeyAuthRefreshGrace, "", nil, "10s", "how long a retry of a rotated refresh token gets the same tokens again (a client that lost the answer)"},
	{KeyAuthClientIdleTTL, "client-idle-ttl", nil, "2160h", "registered MCP clients that hold no grant and have signed nobody in for this long are deleted (0: kept until deleted)"},
	{KeyAuthTLSCert, "tls-cert", nil, "", "TLS certificate file"},
	{KeyAuthTLSKey, "tls-key", nil, "", "TLS key file"},
	{KeyAuthResource, "resource", nil, "", "default resource (MCP server URL) tokens are bound to (default http://<resource host>:<resource port>/mcp)"},
	{KeyAuthCORSOrigins, "cors-origin", nil, []string{"*"}, "origins browser-based MCP clients may call the registration, token and revocation endpoints from (* for any, never with credentials; repeatable, or separated by commas or spaces)"},
	{KeyAuthClientLookup, "taskmanager-client-lookup", nil, false, "accept MCP client ids registered at TaskManager (looked up at /api/oauth/clients/{id}) as public clients"},
	{KeyAuthTokenFormat, "token-format", []string{"TMCP_TOKEN_FORMAT"}, "opaque", "access token format: opaque (checked by introspection) or jwt (RFC 9068, checked locally; a revoked JWT stays valid until it expires)"},
	{KeyAuthAuditLog, "audit-log", []string{"TMCP_AUDIT_LOG"}, "", "file to append security events to as JSON lines (default: the log)"},
	{KeyAuthDev, "dev", nil, false, "development mode: client metadata documents may live on loopback and private addresses"},
	{KeyAuthRegSchemes, "registration-scheme", nil, []string{}, "extra redirect URI schemes clients may register, besides https, loopback http and reverse-domain private-use schemes like com.example.app (* for any; repeatable, or separated by commas or spaces)"},
	{KeyAuthRegToken, "", []string{"TMCP_REGISTRATION_TOKEN"}, "", "initial access token required to register clients (RFC 7591 §3); empty allows open registration"},
	{KeyAuthRateLimit, "rate-limit", nil, 600, "requests a minute per client address on each endpoint (0: no limit)"},
	{KeyAuthRegLimit, "registration-limit", nil, 60, "client registrations an hour per client address, per /64 for IPv6 (0: no limit)"},
	{KeyAuthRegAllLimit, "registration-global-limit", nil, 1000, "client registrations an hour across all addresses, however many a flood comes from (0: no limit)"},
	{KeyAuthClientLimit, "client-rate-limit", nil, 300, "token, revocation requests a minute per client (0: no limit)"},
	{KeyAuthFailedLimit, "failed-auth-limit", nil, 10, "failed client authentications a minute per address before it is refused (0: no limit)"},
	{KeyAuthTrustedProxy, "trusted-proxy", nil, []string{}, "reverse proxies (CIDRs: repeatable, or separated by commas or spaces) whose X-Forwarded-For names the client's address for rate limits and lockouts"},
	{KeyAuthAllowUsers, "allowed-users", nil, []string{}, "only these users may sign in: subjects, verified addresses, or usernames from --username-claim (repeatable or comma-separated; default anyone the provider signs in)"},
	{KeyAuthAllowDomains, "allowed-domains", nil, []string{}, "only users whose verified address is in these email domains may sign in (repeatable or comma-separated)"},
	{KeyAuthAllowGroups, "allowed-groups", nil, []string{}, "only members of these groups (see --groups-claim) may sign in (repeatable or comma-separated)"},
	{KeyAuthOpsAddr, "ops-addr", nil, DefaultAuthOpsAddr, "address of the internal listener for /metrics and /status (besides /healthz and /readyz), off the public port; empty turns it off"},
	{KeyAuthRequireDPoP, "require-dpop", []string{"TMCP_REQUIRE_DPOP"}, false, "issue DPoP-bound tokens only (RFC 9449): a token request without a DPoP proof is refused (default: a request with a proof gets a bound token, one without a bearer token)"},
	{KeyAuthDPoPNonce, "dpop-nonce", []string{"TMCP_DPOP_NONCE"}, false, "DPoP proofs at the token endpoint must carry a nonce the auth server gave (RFC 9449 §8: a proof cannot be made ahead of time)"},
	{KeyAuthResClientID, "introspection-client-id", []string{"TMCP_RESOURCE_CLIENT_ID"}, "tmcp-resource", "client id the resource server introspects with"},
	{KeyAuthAssertionAud, "assertion-audience", nil, []string{}, "URLs of the MCP servers behind the resource server (its --proxy) it may get identity assertions for; other audiences are refused (repeatable, or separated by commas or spaces; default: resource.proxy when the same configuration sets it, as tmcp dev does; with auth.resource_servers, give each its assertion_audiences)"},
	{KeyAuthResSecret, "introspection-client-secret", []string{"TMCP_RESOURCE_CLIENT_SECRET"}, "", "secret the resource server introspects with (default: generated in the state dir)"},

	{KeyResourceHost, "host", []string{"MCP_RESOURCE_HOST"}, "localhost", "host of the MCP resource server"},
	{KeyResourcePort, "port", []string{"MCP_RESOURCE_PORT"}, DefaultResourcePort, "port of the MCP resource server"},
	{KeyResourceAuthURL, "auth-server", []string{"MCP_RESOURCE_AUTH_SERVER_URL"}, "http://localhost:9000", "URL of the auth server"},
	{KeyResourcePublicURL, "public-url", nil, "", "public URL of the MCP endpoint, as clients reach it (default http://<host>:<port>/mcp)"},
	{KeyResourceTransport, "transport", []string{"MCP_TRANSPORT_TYPE"}, "streamable_http", "MCP transport: streamable_http or sse"},
	{KeyResourceCacheTTL, "cache-ttl", nil, "30s", "how long a positive introspection answer is reused; a revoked token works here at most this long (0 turns the cache off)"},
	{KeyResourceOrigins, "allowed-origin", nil, []string{"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"}, "origins browser-based MCP clients may call from (\"*\" for any; scheme://host:* for any port; repeatable, or separated by commas or spaces); requests from other origins get 403"},
	{KeyResourceHosts, "allowed-host", nil, []string{}, "extra Host values to accept (besides the public URL's and localhost; repeatable, or separated by commas or spaces)"},
	{KeyResourceTLSCert, "tls-cert", nil, "", "TLS certificate file"},
	{KeyResourceTLSKey, "tls-key", nil, "", "TLS key file"},
	{KeyResourceIdleTTL, "session-idle-ttl", nil, "30m", "MCP sessions idle this long end; the client starts a new one (0: never)"},
	{KeyResourceMaxSess, "max-sessions", nil, 10000, "MCP sessions open at once on this server; more get 503 with Retry-After (0: no limit)"},
	{KeyResourceMaxUser, "max-sessions-per-user", nil, 20, "MCP sessions one user may have open across all their clients (a stdio server runs a process for each; 0: no limit)"},
	{KeyResourceMaxClient, "max-sessions-per-client", nil, 10, "MCP sessions one user may have open through one client (0: no limit)"},
	{KeyResourceStdioEnv, "stdio-env", nil, []string{}, "with -- COMMAND: what else the server's processes get in their environment besides PATH, HOME, LANG, TZ, TMPDIR and the user's identity: NAME (tmcp's own value) or NAME=VALUE (repeatable or comma-separated; a value cannot hold a comma)"},
	{KeyResourceProxy, "proxy", nil, "", "URL of your own MCP server (Streamable HTTP): /mcp passes signed-in requests on to it, with the user's identity in X-Forwarded-* headers, instead of serving the built-in tools"},
	{KeyResourceProxyVia, "proxy-transport", nil, "auto", "how the --proxy MCP server speaks: streamable_http, sse (the legacy HTTP+SSE transport: a connection per MCP session) or auto (sse when the URL ends in /sse)"},
	{KeyResourceProxyTTL, "proxy-timeout", nil, "30s", "how long your MCP server (--proxy or -- COMMAND) may take to answer (an event stream: to start) before the client gets 504"},
	{KeyResourceMaxMsg, "max-message-size", nil, 16 << 20, "with --proxy or -- COMMAND: the largest message, in bytes, your MCP server may send that the gateway reads whole (a stdio line, an event, an answer it filters); a larger answer fails its call with a JSON-RPC error, and the session goes on"},
	{KeyResourceForwardTM, "forward-taskmanager-token", nil, false, "with --proxy: send your MCP server the signed-in user's TaskManager access token as Authorization: Bearer, so it can call TaskManager as the user"},
	{KeyResourceAssertion, "identity-assertion", nil, false, "with --proxy: also send X-Tmcp-Identity, a JWT signed by the auth server (aud: your server's URL, at most 5 min; verify with <issuer>/.well-known/jwks.json)"},
	{KeyResourcePromptSc, "prompt-scope", nil, []string{}, "with --proxy or -- COMMAND: scopes a prompt needs, NAME-PATTERN=SCOPE[ SCOPE…] (repeatable or comma-separated: a comma separates rules, spaces the scopes of one); prompts no rule matches need the default scope"},
	{KeyResourceResSc, "resource-scope", nil, []string{}, "with --proxy or -- COMMAND: scopes reading a resource needs, URI-PATTERN=SCOPE[ SCOPE…] (like 'file:///secret/*=admin'; repeatable or comma-separated: a comma separates rules, spaces the scopes of one); others need the default scope"},
	{KeyResourceHide, "hide-unauthorized", nil, false, "with --proxy or -- COMMAND: leave out of tools/list the tools the user's token lacks the scopes for"},
	{KeyResourceOpsAddr, "ops-addr", nil, DefaultResourceOpsAddr, "address of the internal listener for /metrics and /status (besides /healthz and /readyz), off the public port; empty turns it off"},
	{KeyResourceReqDPoP, "require-dpop", []string{"TMCP_REQUIRE_DPOP"}, false, "accept DPoP-bound tokens only (RFC 9449): a bearer token is refused (default: both; a DPoP-bound token always needs a proof of its key)"},
	{KeyResourceDPoPNonce, "dpop-nonce", []string{"TMCP_DPOP_NONCE"}, false, "DPoP proofs must carry a nonce this MCP server gave (RFC 9449 §9); a nonce is good at the instance that gave it"},
	{KeyResourceToolScope, "tool-scope", nil, []string{}, "with --proxy or -- COMMAND: scopes a tool needs, PATTERN=SCOPE[ SCOPE…] (globs, like 'delete_*=write admin'; repeatable or comma-separated: a comma separates rules, spaces the scopes of one); tools no rule matches need the default scope"},

	{KeyFlowServerPort, "server-port", []string{"MCP_SERVER_PORT"}, DefaultResourcePort, "port of the MCP server to test"},
	{KeyFlowTransport, "transport", []string{"MCP_TRANSPORT_TYPE"}, "streamable_http", "MCP transport to test: streamable_http or sse"},
	{KeyFlowServer, "server", nil, "", "URL of the MCP server to test (default http://localhost:<MCP_SERVER_PORT>/mcp)"},
	{KeyFlowDPoP, "dpop", nil, false, "get a DPoP-bound token (RFC 9449) and call the MCP server with a proof of a fresh key, then check that the token is refused without one"},
	{KeyFlowCallbackPort, "callback-port", nil, DefaultCallbackPort, "port the browser is sent back to (http://localhost:<port>/callback)"},

	{KeySandboxHost, "host", nil, "localhost", "address the sandbox listens on"},
	{KeySandboxPort, "port", nil, DefaultSandboxPort, "port the sandbox listens on"},
	{KeySandboxPublicURL, "public-url", nil, "", "public URL of the sandbox"},
	{KeyTMCookie, "cookie-name", nil, "session", "name of TaskManager's session cookie"},
	{KeySandboxEmail, "demo-email", nil, "demo@example.com", "demo user's email"},
	{KeySandboxPassword, "demo-password", []string{"TMCP_SANDBOX_DEMO_PASSWORD"}, "demo-password", "demo user's password"},
	{KeySandboxClientID, "client-id", nil, "", "client id to pre-register at start"},
	{KeySandboxClientSecret, "client-secret", nil, "", "client secret to pre-register at start"},
	{KeySandboxRedirectURIs, "redirect-uri", nil, []string{}, "redirect URIs of the pre-registered client (repeatable, or separated by commas or spaces; default the auth server's callback)"},
	{KeySandboxTLSCert, "tls-cert", nil, "", "TLS certificate file"},
	{KeySandboxTLSKey, "tls-key", nil, "", "TLS key file"},
	{KeySandboxLoginLimit, "failed-login-limit", nil, 10, "failed logins a minute per address before logins from it are refused (0: no limit)"},
	{KeySandboxDiscovery, "discovery", nil, false, "publish OpenID Connect discovery metadata with endpoints under /oidc/, like a generic provider"},
	{KeySandboxJWT, "jwt-access-tokens", nil, false, "issue access tokens as ES256 JWTs (verified by serve auth with the JWKS) instead of opaque strings"},
}

// choices are the values a setting takes, for shell completion.
var choices = map[string][]string{
	KeyLogLevel:          {"debug", "info", "warn", "error"},
	KeyLogFormat:         {"json", "text"},
	KeyResourceTransport: {"streamable_http", "sse"},
	KeyFlowTransport:     {"streamable_http", "sse"},
	KeyAuthTokenFormat:   {"opaque", "jwt"},
	KeyTMAuthMethod:      {"client_secret_basic", "client_secret_post"},
	KeyTMPreset:          {"github", "google", "entra", "auth0"},
	KeyResourceProxyVia:  {"auto", "streamable_http", "sse"},
}

// Choices are the values setting key takes, when it is one of a few.
func Choices(key string) []string { return choices[key] }

// Name is how a one-line error names the setting: its flag (when it has
// one), environment variable and config key.
func (s Setting) Name() string {
	if s.Flag == "" {
		return fmt.Sprintf("%s (%s in the config file)", s.Env()[0], s.Key)
	}
	return fmt.Sprintf("--%s (%s, %s in the config file)", s.Flag, s.Env()[0], s.Key)
}

// CheckBools refuses a true/false setting whose value (from the
// environment or the config file) is neither, which would otherwise read
// as false without a word.
func CheckBools(v *viper.Viper) error {
	for _, s := range settings {
		if _, ok := s.Default.(bool); !ok {
			continue
		}
		if raw := v.Get(s.Key); raw != nil {
			if _, err := strconv.ParseBool(strings.TrimSpace(fmt.Sprint(raw))); err != nil {
				return fmt.Errorf("%s: %q is not true or false", s.Name(), fmt.Sprint(raw))
			}
		}
	}
	return nil
}

// Settings is every setting, in the table's order.
func Settings() []Setting { return append([]Setting(nil), settings...) }

// Lookup returns the setting of key; an unknown key is a programming
// error.
func Lookup(key string) Setting {
	for _, s := range settings {
		if s.Key == key {
			return s
		}
	}
	panic("config: unknown setting " + key)
}

// New returns a viper instance with every default and environment name
// bound, reading configFile if given, else the default config file if it
// exists. Precedence: flag (bound by the caller), environment, file, default.
func New(configFile string) (*viper.Viper, error) {
	v := viper.New()
	for _, s := range settings {
		v.SetDefault(s.Key, s.Default)
		if err := v.BindEnv(append([]string{s.Key}, s.Env()...)...); err != nil {
			return nil, err
		}
	}
	explicit := configFile != ""
	if !explicit {
		configFile = DefaultConfigFile()
	}
	if configFile == "" {
		return v, nil
	}
	v.SetConfigFile(configFile)
	if err := v.ReadInConfig(); err != nil {
		var pathErr *fs.PathError
		if errors.As(err, &pathErr) {
			if !explicit {
				return v, nil // no default config file: fine
			}
			return nil, fmt.Errorf("config file %s: %w", configFile, pathErr.Err)
		}
		return nil, fmt.Errorf("config file %s: %w", configFile, err)
	}
	if err := checkKeys(configFile); err != nil {
		return nil, err
	}
	return v, nil
}

// checkKeys refuses a config file with a key tmcp does not know: a
// misspelt setting would otherwise be ignored in silence.
func checkKeys(file string) error {
	only := viper.New()
	only.SetConfigFile(file)
	if err := only.ReadInConfig(); err != nil {
		return fmt.Errorf("config file %s: %w", file, err)
	}
	known := map[string]bool{KeyAuthResources: true}
	for _, s := range settings {
		known[s.Key] = true
	}
	for _, k := range only.AllKeys() {
		if known[k] || strings.HasPrefix(k, KeyAuthResources+".") {
			continue
		}
		msg := fmt.Sprintf("config file %s: unknown setting %q", file, k)
		if near := nearest(k, known); near != "" {
			msg += fmt.Sprintf(" (did you mean %q?)", near)
		}
		return errors.New(msg)
	}
	return nil
}

// nearest is the known key closest to k, if it is close (a typo).
func nearest(k string, known map[string]bool) string {
	best, bestD := "", 4
	for c := range known {
		if d := editDistance(k, c); d < bestD || d == bestD && c < best {
			best, bestD = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// DefaultConfigFile is $XDG_CONFIG_HOME/tmcp/config.yaml.
func DefaultConfigFile() string {
	dir := os.Getenv("XDG_CONFIG_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return ""
		}
		dir = filepath.Join(home, ".config")
	}
	return filepath.Join(dir, "tmcp", "config.yaml")
}

// DefaultStateDir is $XDG_STATE_HOME/tmcp.
func DefaultStateDir() string {
	dir := os.Getenv("XDG_STATE_HOME")
	if dir == "" {
		home, err := os.UserHomeDir()
		if err != nil {
			return filepath.Join(os.TempDir(), "tmcp-state")
		}
		dir = filepath.Join(home, ".local", "state")
	}
	return filepath.Join(dir, "tmcp")
}

// StateDir is the configured state directory or the default one.
func StateDir(v *viper.Viper) string {
	if d := v.GetString(KeyStateDir); d != "" {
		return d
	}
	return DefaultStateDir()
}

// ParseScopeList accepts scopes separated by spaces or commas, as the
// seed's TASKMANAGER_MCP_SCOPE=read,write does.
func ParseScopeList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}

// Files tmcp keeps in its state directory.
const (
	FileDatabase       = "tmcp.db"
	FileSandboxDB      = "sandbox.db"
	FileEncryptionKey  = "encryption.key"
	FileResourceSecret = "resource-secret"
	FileDevSecret      = "dev-client-secret"
)

// LogLevel parses the log level setting.
func LogLevel(v *viper.Viper) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(v.GetString(KeyLogLevel))); err != nil {
		return l, fmt.Errorf("log level %q: use debug, info, warn or error", v.GetString(KeyLogLevel))
	}
	return l, nil
}
