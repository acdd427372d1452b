// Package resource is `tmcp serve resource`: an MCP server (mark3labs/mcp-go,
// Streamable HTTP at /mcp, or legacy SSE) whose tools need a valid MCP
// access token. It publishes RFC 9728 metadata, answers 401 and 403 with
// RFC 6750 challenges, validates tokens by RFC 7662 introspection (or
// RFC 9068 JWTs), checks DPoP-bound tokens' proofs (RFC 9449), and
// calls TaskManager as the user with a token obtained by RFC 8693 exchange;
// the MCP token itself never goes to TaskManager.
package resource

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
	"golang.org/x/sync/errgroup"

	"github.com/tmcp-dev/tmcp/internal/confcheck"
	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/gateway"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/status"
	"github.com/tmcp-dev/tmcp/internal/ttlcache"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Transports.
const (
	TransportStreamable = "streamable_http"
	TransportSSE        = "sse"
)

// Config is everything the resource server needs.
type Config struct {
	Addr     string
	Listener net.Listener
	// OpsAddr is where /metrics and /status are served, apart from the
	// public port ("" for no ops listener); OpsListener, when set, is
	// used instead.
	OpsAddr     string
	OpsListener net.Listener
	// Resource is the public URL of the MCP endpoint and the audience
	// tokens must carry; derived from the listener when empty.
	Resource      string
	AuthServerURL string // the issuer
	ClientID      string // introspection credentials
	ClientSecret  string
	TaskManager   string // TaskManager base URL for the task tools

	ScopesSupported []string
	DefaultScope    []string
	// CacheTTL bounds how long a positive introspection answer is reused:
	// a revoked token keeps working here for at most this long. Zero
	// disables the cache.
	CacheTTL       time.Duration
	CacheSize      int
	Transport      string
	AllowedOrigins []string
	AllowedHosts   []string
	// SessionIdleTTL ends MCP sessions idle this long; Sessions bounds
	// how many are open.
	SessionIdleTTL time.Duration
	Sessions       SessionLimits
	Version        string

	// Proxy, when set, is the team's own MCP server (Streamable HTTP):
	// /mcp passes authenticated requests on to it instead of serving the
	// built-in tools. ProxyTimeout bounds how long it may take to answer.
	Proxy        string
	ProxyTimeout time.Duration
	// MaxMessage bounds one message from the own server (a stdio line,
	// an event, an answer read whole); over it, the call it answers gets
	// a JSON-RPC error. Zero means gateway.DefaultMaxMessage.
	MaxMessage int
	// ProxyTransport is how Proxy speaks: streamable_http, sse (the legacy
	// HTTP+SSE transport, a connection per MCP session) or auto (sse when
	// its path ends in /sse).
	ProxyTransport string
	// Command, when set, is the team's own MCP server as a stdio program:
	// one process per MCP session, the user's identity in its environment.
	Command []string
	// StdioEnv is what else Command's processes get in their environment
	// besides PATH, HOME, LANG, TZ, TMPDIR and the identity: NAME (tmcp's
	// own value) or NAME=VALUE. Nothing else of tmcp's environment, its
	// secrets least of all, reaches them.
	StdioEnv []string
	// ToolPolicy, PromptPolicy and ResourcePolicy say which scopes the own
	// server's tools (by name), prompts (by name) and resources (by URI)
	// need; what no rule names needs the default scope.
	ToolPolicy, PromptPolicy, ResourcePolicy ScopePolicy
	// HideUnauthorized leaves out of tools/list the tools the token lacks
	// the scopes for.
	HideUnauthorized bool
	// ForwardTaskManagerToken sends the backend the user's TaskManager
	// access token (from the token exchange) as its bearer token.
	ForwardTaskManagerToken bool
	// IdentityAssertion sends the HTTP backend X-Tmcp-Identity: a JWT
	// signed by the auth server (aud = the backend's URL, at most 5 min).
	IdentityAssertion bool
	// RequireDPoP accepts DPoP-bound tokens only (RFC 9449): a bearer
	// token is refused. Without it both work, and a bound token still
	// only with a proof of its key.
	RequireDPoP bool
	// DPoPNonce makes proofs carry a nonce this server gave (RFC 9449 §9).
	// Nonces are good at the instance that gave them only.
	DPoPNonce bool

	TLSCert, TLSKey string
	Logger          *slog.Logger
	Now             func() time.Time
	HTTPClient      *http.Client
}

func (s *Server) now() time.Time { return s.cfg.Now() }

// defaultProxyTimeout is how long the team's own MCP server may take to
// start answering when Config.ProxyTimeout is not set.
const defaultProxyTimeout = 30 * time.Second

// Server is the resource server.
type Server struct {
	cfg       Config
	log       *slog.Logger
	auth      *authClient
	tm        *upstream.Client
	ln        net.Listener
	opsLn     net.Listener
	publicURL *url.URL
	hosts     []string
	handler   http.Handler
	metrics   *resourceMetrics
	sessions  *sessions
	ready     readiness
	// dpop checks DPoP proofs and remembers them for the replay check,
	// per instance.
	dpop *dpop.Verifier
	// backend is the team's own MCP server, when /mcp is a gateway to it.
	backend     gateway.Backend
	statusGuard statusGuard
	stepUps     *stepUpWatch
	stopping    *stopping
}

// Validate reports every problem of c at once (confcheck.Problems), each
// naming the field it is about.
func (c Config) Validate() error {
	var ps confcheck.Problems
	if c.AuthServerURL == "" {
		ps.Add("AuthServerURL", "the resource server needs the auth server's URL")
	} else if _, err := oauth.MetadataURLs(c.AuthServerURL); err != nil {
		ps.Add("AuthServerURL", "%v", err)
	}
	if c.ClientID == "" {
		ps.Add("ClientID", "the resource server needs its introspection client id")
	}
	if c.ClientSecret == "" {
		ps.Add("ClientSecret", "the resource server needs its introspection secret")
	}
	if len(c.DefaultScope) == 0 {
		ps.Add("DefaultScope", "the resource server needs the default scope it names in its challenges")
	}
	if c.Resource != "" && !oauth.ValidResourceIndicator(c.Resource) {
		ps.Add("Resource", "%q must be an absolute URL without fragment", c.Resource)
	}
	switch c.Transport {
	case TransportStreamable, TransportSSE:
	default:
		ps.Add("Transport", "unknown transport %q: use streamable_http or sse", c.Transport)
	}
	own := c.Proxy != "" || len(c.Command) > 0
	if !own {
		for _, f := range []struct {
			field string
			set   bool
		}{{"ForwardTaskManagerToken", c.ForwardTaskManagerToken}, {"IdentityAssertion", c.IdentityAssertion},
			{"ToolPolicy", len(c.ToolPolicy) > 0}, {"PromptPolicy", len(c.PromptPolicy) > 0},
			{"ResourcePolicy", len(c.ResourcePolicy) > 0}, {"HideUnauthorized", c.HideUnauthorized}} {
			if f.set {
				ps.Add(f.field, "applies to your own MCP server: add --proxy URL or -- COMMAND")
			}
		}
	}
	if len(c.StdioEnv) > 0 && len(c.Command) == 0 {
		ps.Add("StdioEnv", "is for a stdio MCP server: add -- COMMAND")
	}
	if len(c.Command) > 0 {
		if c.Proxy != "" {
			ps.Add("Proxy", "a stdio MCP server (-- COMMAND) is the server: drop --proxy")
		}
		if c.IdentityAssertion {
			ps.Add("IdentityAssertion", "is for an MCP server reached over HTTP (--proxy); a stdio server gets the identity in its environment")
		}
		if _, err := gateway.StdioEnv(c.StdioEnv, func(string) (string, bool) { return "", false }); err != nil {
			ps.Add("StdioEnv", "%v", err)
		}
	}
	if own && c.Transport == TransportSSE {
		ps.Add("Transport", "your own MCP server is served over Streamable HTTP; --transport sse is for the built-in tools")
	}
	if c.Proxy != "" {
		if _, err := gateway.ParseURL(c.Proxy); err != nil {
			ps.Add("Proxy", "%v", err)
		}
		switch c.ProxyTransport {
		case "", gateway.TransportAuto, gateway.TransportStreamable, gateway.TransportSSE:
		default:
			ps.Add("ProxyTransport", "%q: use auto, streamable_http or sse", c.ProxyTransport)
		}
	}
	if c.ProxyTimeout < 0 {
		ps.Add("ProxyTimeout", "must not be negative")
	}
	if c.MaxMessage < 0 {
		ps.Add("MaxMessage", "must not be negative")
	}
	return ps.Err()
}

// New validates cfg and binds the listener.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = oauth.NewHTTPClient(10 * time.Second)
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 10000
	}
	tm, err := upstream.New(upstream.Config{BaseURL: cfg.TaskManager})
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, log: cfg.Logger, tm: tm, stepUps: newStepUpWatch(), stopping: newStopping()}
	if s.ln = cfg.Listener; s.ln == nil {
		if s.ln, err = httpx.Listen(cfg.Addr); err != nil {
			return nil, err
		}
	}
	if s.opsLn, err = httpx.OpsListener(cfg.OpsListener, cfg.OpsAddr); err != nil {
		s.ln.Close()
		return nil, err // names the ops listener (httpx.ErrOpsListener)
	}
	if s.cfg.Resource == "" {
		s.cfg.Resource = httpx.ListenerURL(s.ln, cfg.TLSCert != "") + "/mcp"
	}
	if s.publicURL, err = url.Parse(s.cfg.Resource); err != nil || !oauth.ValidResourceIndicator(s.cfg.Resource) {
		s.close()
		return nil, fmt.Errorf("resource URL %q must be an absolute URL without fragment", s.cfg.Resource)
	}
	s.cfg.AuthServerURL = strings.TrimSuffix(cfg.AuthServerURL, "/")
	s.auth = &authClient{issuer: s.cfg.AuthServerURL, clientID: cfg.ClientID, clientSecret: cfg.ClientSecret,
		http: cfg.HTTPClient, now: cfg.Now, cacheTTL: cfg.CacheTTL,
		principals: ttlcache.New[*Principal](cfg.CacheSize), upstream: ttlcache.New[string](cfg.CacheSize),
		assertions: ttlcache.New[string](cfg.CacheSize),
		verified:   ttlcache.New[*Principal](cfg.CacheSize)}
	if cfg.CacheTTL <= 0 {
		s.auth.principals = ttlcache.New[*Principal](0)
	}
	s.sessions = newSessions(cfg.SessionIdleTTL, cfg.Sessions, cfg.Now)
	s.dpop = dpop.NewVerifier(dpop.Config{Now: cfg.Now, RequireNonce: cfg.DPoPNonce})
	if s.cfg.ProxyTimeout <= 0 {
		s.cfg.ProxyTimeout = defaultProxyTimeout
	}
	if s.backend, err = newBackend(s.cfg, s.sessions, s.log); err != nil {
		s.close()
		return nil, err
	}
	if s.backend != nil {
		s.sessions.onEnd = s.backend.SessionEnded
	}
	for _, r := range cfg.ResourcePolicy {
		if oneLevel(r.Pattern) {
			s.log.Warn("a --resource-scope rule ending in /* covers one level below it; write /** for everything under it",
				"rule", r.Pattern)
		}
	}
	s.warnPlainHTTP()
	s.hosts = s.allowedHosts()
	s.metrics = newResourceMetrics()
	s.handler = s.routes()
	return s, nil
}

// close releases the listeners of a server that will not run.
func (s *Server) close() {
	s.ln.Close()
	if s.opsLn != nil {
		s.opsLn.Close()
	}
}

// URL is the MCP endpoint's public URL (the resource identifier).
func (s *Server) URL() string { return s.cfg.Resource }

// OpsURL is the base URL of the ops listener (/metrics, /status), or ""
// when there is none.
func (s *Server) OpsURL() string { return httpx.OpsURL(s.opsLn) }

// OpsHandler serves the ops listener's routes (for tests that mount it).
func (s *Server) OpsHandler() http.Handler {
	return httpx.Ops{Metrics: s.metrics.Handler(), Status: s.serveStatus, Healthz: healthz, Readyz: s.readyz}.Handler()
}

// healthz is the process's liveness: it touches nothing outside.
func healthz(w http.ResponseWriter, _ *http.Request) { w.Write([]byte("ok\n")) }

// Handler serves the resource server's routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves until ctx ends.
func (s *Server) Run(ctx context.Context) error {
	if s.cfg.SessionIdleTTL > 0 {
		go httpx.Every(ctx, min(s.cfg.SessionIdleTTL, time.Minute), s.sessions.sweep)
	}
	if s.backend != nil {
		defer s.backend.Close()
	}
	stop := context.AfterFunc(ctx, s.stopping.begin)
	defer stop()
	srv := httpx.NewServer(s.handler, s.log, httpx.Options{WriteTimeout: -1}) // MCP streams responses
	s.log.InfoContext(ctx, "MCP resource server listening", "url", s.cfg.Resource, "auth_server", s.cfg.AuthServerURL, "transport", s.cfg.Transport, "ops", s.OpsURL())
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return httpx.ServeOps(ctx, s.opsLn, s.OpsHandler(), s.log) })
	g.Go(func() error { return httpx.Serve(ctx, srv, s.ln, s.cfg.TLSCert, s.cfg.TLSKey) })
	return g.Wait()
}

// metadataURL is where this resource's RFC 9728 document lives.
func (s *Server) metadataURL() string {
	u := *s.publicURL
	u.Path = server.ProtectedResourceMetadataPath(s.cfg.Resource)
	u.RawQuery = ""
	return u.String()
}

// Metadata is the RFC 9728 document.
func (s *Server) Metadata() server.ProtectedResourceMetadataConfig {
	return server.ProtectedResourceMetadataConfig{
		Resource:               s.cfg.Resource,
		AuthorizationServers:   []string{s.cfg.AuthServerURL},
		ScopesSupported:        s.cfg.ScopesSupported,
		BearerMethodsSupported: []string{"header"},
		ResourceName:           s.resourceName(),
		// RFC 9728 §2 with RFC 9449.
		DPoPSigningAlgValuesSupported: dpop.AlgNames(),
		DPoPBoundAccessTokensRequired: &s.cfg.RequireDPoP,
	}
}

// legacySSE reports whether the built-in tools are served over the
// legacy SSE transport, whose messages name their session in the URL.
func (s *Server) legacySSE() bool {
	return s.cfg.Transport == TransportSSE && !s.ownServer()
}

func (s *Server) resourceName() string {
	if s.ownServer() {
		return "tmcp MCP gateway"
	}
	return "tmcp MCP server"
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	prm := server.NewProtectedResourceMetadataHandler(s.Metadata())
	mux.Handle(server.WellKnownProtectedResourcePath, prm)
	mux.Handle(server.ProtectedResourceMetadataPath(s.cfg.Resource), prm)
	mux.HandleFunc("GET /healthz", healthz)

	path := s.publicURL.Path
	if path == "" {
		path = "/"
	}
	// What requireToken learned reaches the tools and the session hooks.
	copyPrincipal := func(ctx context.Context, r *http.Request) context.Context {
		if p, ok := PrincipalFrom(r.Context()); ok {
			ctx = withPrincipal(ctx, p)
		}
		if res := r.Context().Value(reservationKey{}); res != nil {
			ctx = context.WithValue(ctx, reservationKey{}, res)
		}
		return ctx
	}
	switch {
	case s.backend != nil:
		mux.Handle(path, s.requireToken(s.finishCalls(http.HandlerFunc(s.serveBackend))))
	case s.cfg.Transport == TransportSSE:
		sse := server.NewSSEServer(s.newMCPServer(),
			server.WithStaticBasePath(""), server.WithSSEEndpoint(path), server.WithMessageEndpoint(path+"/message"),
			server.WithBaseURL(strings.TrimSuffix(s.cfg.Resource, s.publicURL.Path)),
			server.WithSSEContextFunc(copyPrincipal), server.WithSSEDisableLocalhostProtection(true))
		mux.Handle(path, s.requireToken(sse.SSEHandler()))
		mux.Handle(path+"/message", s.requireToken(sse.MessageHandler()))
	default:
		h := server.NewStreamableHTTPServer(s.newMCPServer(), server.WithEndpointPath(path),
			server.WithHTTPContextFunc(copyPrincipal), server.WithDisableLocalhostProtection(true),
			server.WithStreamableHTTPLogger(s.log), server.WithSessionIdleTTL(s.cfg.SessionIdleTTL))
		mux.Handle(path, s.requireToken(s.finishCalls(h)))
	}
	// /metrics is on the ops listener only (OpsHandler); /status stays
	// here too for doctor and flow test, answered only to this machine
	// or to introspection credentials.
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.HandleFunc("GET "+status.Path, s.serveStatus)
	// Host checks come first, then CORS (so preflights and 401s carry
	// CORS headers), then logging around everything.
	return httpx.Log(s.log, s.metrics.Metrics, s.allowHosts(s.cors(mux)))
}

// readyz answers 200 when tokens can be checked now: the auth server
// answers an introspection with this server's credentials (which reaches
// its storage too), or its JWKS is reachable for JWT access tokens. The
// answer is kept for readyCacheTTL, so probes cannot load the auth server.
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	err := s.ready.check(r.Context(), s.now(), func(ctx context.Context) error {
		if s.backend != nil {
			if err := s.backend.Ready(ctx); err != nil {
				return err
			}
		}
		return s.auth.ready(ctx)
	})
	if err != nil {
		w.Header().Set("Retry-After", retryAfter)
		http.Error(w, "not ready: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	w.Write([]byte("ready\n"))
}

const readyCacheTTL = 5 * time.Second

// readiness remembers the last readiness check for readyCacheTTL.
type readiness struct {
	mu      sync.Mutex
	checked time.Time
	err     error
}

func (rd *readiness) check(ctx context.Context, now time.Time, probe func(context.Context) error) error {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.checked.IsZero() && now.Sub(rd.checked) < readyCacheTTL {
		return rd.err
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	rd.err, rd.checked = probe(ctx), now
	return rd.err
}
