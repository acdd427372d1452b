// Package authserver is `tmcp serve auth`: an OAuth 2.1 authorization
// server for MCP clients that delegates user login to TaskManager.
//
// It implements RFC 8414 metadata (and OpenID discovery paths), RFC 7591
// registration, the authorization code grant with PKCE S256 (RFC 7636),
// RFC 8707 resource indicators, RFC 9207 issuer identification, DPoP
// sender-constrained tokens (RFC 9449), refresh
// token rotation, RFC 7009 revocation and RFC 7662 introspection. TaskManager
// tokens stay here, sealed; MCP clients only ever see tmcp's own tokens.
package authserver

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/confcheck"
	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/ttlcache"
	"github.com/tmcp-dev/tmcp/internal/upstream"
	"github.com/tmcp-dev/tmcp/internal/web"
)

// ResourceServer is an MCP server tokens can be issued for, with the
// credentials it introspects with.
type ResourceServer struct {
	Resource     string
	ClientID     string
	ClientSecret string
	// AssertionAudiences are the URLs of the MCP servers behind this
	// resource server (its --proxy) that it may get identity assertions
	// for; none, no assertion.
	AssertionAudiences []string
}

// Config is everything the auth server needs; it opens nothing itself.
type Config struct {
	Addr string // listen address
	// Listener, when set, is used instead of listening on Addr.
	Listener net.Listener
	Issuer   string // public URL; derived from the listener when empty
	// OpsAddr is where /metrics and /status are served, apart from the
	// public port ("" for no ops listener); OpsListener, when set, is
	// used instead.
	OpsAddr     string
	OpsListener net.Listener

	Store store.Store
	// Upstream names TaskManager; its RedirectURL is set to this server's
	// callback.
	Upstream upstream.Config
	// EncryptionKey (32 bytes) seals TaskManager tokens; cookie and form
	// signing keys are derived from it.
	EncryptionKey []byte

	// TokenFormat is "opaque" (default) or "jwt" (RFC 9068 access tokens,
	// verifiable by resource servers without asking tmcp; a revoked JWT
	// stays valid at such servers until it expires).
	TokenFormat string
	// JWTIssuer is the iss expected in TaskManager's JWTs (default its
	// base URL).
	JWTIssuer string
	// RequireDPoP refuses token requests without a DPoP proof: every
	// access token is bound to a key (RFC 9449). Without it a request
	// with a proof gets a bound token and one without a bearer token.
	RequireDPoP bool
	// DPoPNonce makes proofs at the token endpoint carry a nonce this
	// server gave (RFC 9449 §8), so a proof cannot be made ahead of time.
	DPoPNonce bool
	// ClientLookup accepts client ids registered at TaskManager
	// (GET /api/oauth/clients/{id}) as public clients.
	ClientLookup bool
	// CheckUpstreamClient makes New check tmcp's client at the provider
	// and refuse to start when the provider refuses it.
	CheckUpstreamClient bool
	// Admission says who may sign in.
	Admission Admission
	// Registration is the dynamic client registration policy.
	Registration RegistrationPolicy
	// CIMD tunes the fetching of Client ID Metadata Documents.
	CIMD cimd.Options
	// Limits are the rate limits; zero is unlimited.
	Limits Limits
	// TrustedProxies may tell the client's address in X-Forwarded-For.
	TrustedProxies []netip.Prefix
	// CORSOrigins may call the registration, token and revocation
	// endpoints from a browser; "*" is any origin (never with credentials).
	CORSOrigins     []string
	ScopesSupported []string
	DefaultScope    []string
	Resources       []ResourceServer
	DefaultResource string

	AccessTTL    time.Duration
	RefreshTTL   time.Duration
	RefreshGrace time.Duration
	CodeTTL      time.Duration
	StateTTL     time.Duration
	// ClientIdleTTL is how long a registered client that holds no grant
	// and signs nobody in is kept; zero keeps clients until deleted.
	ClientIdleTTL time.Duration

	TLSCert, TLSKey string
	// Version is shown at /status.
	Version string
	Logger  *slog.Logger
	// Audit receives security events (consent granted, token family
	// revoked, client registered); default Logger.
	Audit *slog.Logger
	Now   func() time.Time
}

// Server is the auth server.
type Server struct {
	cfg       Config
	store     store.Store
	upstream  *upstream.Client
	verifier  *jwks.Verifier
	dpop      *dpop.Verifier
	lookup    *ttlcache.Cache[*store.Client] // TaskManager's answers about client ids
	grants    oauth.Grants[tokenGrant]
	limits    limiters
	cimd      *cimd.Resolver
	keys      keyring
	metrics   *metrics
	sealer    *secrets.Sealer
	cookieKey []byte
	familyKey []byte // MACs the family a refresh token names
	log       *slog.Logger
	now       func() time.Time
	pages     web.Pages
	status    statusState
	ready     readiness
	ln        net.Listener
	opsLn     net.Listener
	handler   http.Handler
	prefix    string // the issuer's path, under which endpoints are served
}

//go:embed templates/*.html
var templates embed.FS

// New validates cfg and binds the listener, so URL is known before Run.
func New(cfg Config) (*Server, error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	sealer, err := secrets.NewSealer(cfg.EncryptionKey)
	if err != nil {
		return nil, err
	}
	if cfg.Upstream.Issuer != "" {
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		m, err := upstream.Discover(ctx, cfg.Upstream.Issuer, nil)
		cancel()
		if err != nil {
			return nil, err
		}
		upstream.ApplyMetadata(&cfg.Upstream, m)
		if cfg.JWTIssuer == "" {
			cfg.JWTIssuer = m.Issuer
		}
		cfg.Logger.Info("upstream endpoints discovered", "issuer", m.Issuer, "authorize", m.AuthorizationEndpoint, "token", m.TokenEndpoint)
	}
	if _, err := upstream.New(cfg.Upstream); err != nil { // fail before binding the port
		return nil, err
	}
	s := &Server{
		cfg: cfg, store: cfg.Store, sealer: sealer,
		cookieKey: []byte(secrets.MAC(cfg.EncryptionKey, "tmcp cookie key")),
		familyKey: []byte(secrets.MAC(cfg.EncryptionKey, "tmcp refresh family key")),
		log:       cfg.Logger, now: cfg.Now, pages: web.ParsePages(templates, "templates/*.html"),
		lookup:  ttlcache.New[*store.Client](maxLookups),
		limits:  newLimiters(cfg.Limits),
		metrics: newMetrics(),
		cimd:    cimd.New(cfg.CIMD),
		// Nonces are keyed by the encryption key, which every instance
		// of one deployment shares, so any instance takes another's.
		dpop: dpop.NewVerifier(dpop.Config{Now: cfg.Now, RequireNonce: cfg.DPoPNonce,
			NonceKey: []byte(secrets.MAC(cfg.EncryptionKey, "tmcp dpop nonce key"))}),
	}
	s.grants = oauth.Grants[tokenGrant]{oauth.GrantAuthorizationCode: s.redeemCode, oauth.GrantRefreshToken: s.refresh}
	if s.ln = cfg.Listener; s.ln == nil {
		if s.ln, err = httpx.Listen(cfg.Addr); err != nil {
			return nil, err
		}
	}
	if s.opsLn, err = httpx.OpsListener(cfg.OpsListener, cfg.OpsAddr); err != nil {
		s.ln.Close()
		return nil, err // names the ops listener (httpx.ErrOpsListener)
	}
	if s.cfg.Issuer == "" {
		s.cfg.Issuer = httpx.ListenerURL(s.ln, cfg.TLSCert != "")
	}
	iss, err := url.Parse(s.cfg.Issuer)
	if err != nil || !iss.IsAbs() || iss.RawQuery != "" || iss.Fragment != "" {
		s.close()
		return nil, fmt.Errorf("issuer %q must be an absolute URL without query or fragment (RFC 8414 §2)", s.cfg.Issuer)
	}
	s.cfg.Issuer = strings.TrimSuffix(s.cfg.Issuer, "/")
	s.prefix = strings.TrimSuffix(iss.Path, "/")
	up := cfg.Upstream
	up.RedirectURL = s.endpoint(pathCallback)
	if s.upstream, err = upstream.New(up); err != nil {
		s.close()
		return nil, err
	}
	if cfg.CheckUpstreamClient {
		if err := s.checkUpstreamClient(); err != nil {
			s.close()
			return nil, err
		}
	}
	s.verifier = s.upstream.NewVerifier(cfg.JWTIssuer, cfg.Now)
	s.handler = s.routes()
	return s, nil
}

// checkUpstreamClient finds a stale or mistyped client at start, rather
// than when a user's browser lands on the provider's "unknown client"
// page. A provider that cannot be reached now decides nothing: the server
// starts and says so.
func (s *Server) checkUpstreamClient() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.upstream.CheckClient(ctx)
	switch {
	case err == nil:
		s.log.Info("upstream client checked", "client_id", s.cfg.Upstream.ClientID)
		return nil
	case errors.Is(err, upstream.ErrClientRefused):
		return fmt.Errorf("%s refuses tmcp's client %q (invalid_client): its id or secret is wrong, or it was deleted there; "+
			"register one with `tmcp client register --save` and start again, or fix --client-id/--client-secret "+
			"(TASKMANAGER_CLIENT_ID, TASKMANAGER_CLIENT_SECRET)", s.upstreamName(), s.cfg.Upstream.ClientID)
	}
	s.log.Warn("could not check tmcp's client at the provider; starting anyway", "err", err)
	return nil
}

// upstreamName is how messages name the provider.
func (s *Server) upstreamName() string {
	if s.cfg.Upstream.Issuer != "" || s.cfg.Upstream.EmailsEndpoint != "" {
		return "the upstream provider"
	}
	return "TaskManager"
}

// Validate reports every problem of c at once (confcheck.Problems), each
// naming the field it is about. The settings' defaults live in
// internal/config: a missing one here is a mistake of the caller.
func (c Config) Validate() error {
	var ps confcheck.Problems
	if c.Store == nil {
		ps.Add("Store", "a store is required")
	}
	if len(c.Resources) == 0 {
		ps.Add("Resources", "at least one resource server must be configured")
	}
	for _, r := range c.Resources {
		if !oauth.ValidResourceIndicator(r.Resource) {
			ps.Add("Resources", "resource %q must be an absolute URL without fragment (RFC 8707)", r.Resource)
		}
		if r.ClientID == "" || r.ClientSecret == "" {
			ps.Add("Resources", "resource %s needs introspection credentials (client id and secret)", r.Resource)
		}
		for _, aud := range r.AssertionAudiences {
			if !httpURL(aud) {
				ps.Add("Resources", "resource %s: identity assertion audience %q is not an http(s) URL", r.Resource, aud)
			}
		}
	}
	if c.TokenFormat != FormatOpaque && c.TokenFormat != FormatJWT {
		ps.Add("TokenFormat", "unknown token format %q: use opaque or jwt", c.TokenFormat)
	}
	if len(c.ScopesSupported) == 0 {
		ps.Add("ScopesSupported", "the supported scopes are required")
	}
	if len(c.DefaultScope) == 0 {
		ps.Add("DefaultScope", "the default scope is required")
	} else if len(c.ScopesSupported) > 0 && !oauth.ScopeSubset(c.DefaultScope, c.ScopesSupported) {
		ps.Add("DefaultScope", "the default scope %q is not among the supported scopes %q",
			oauth.JoinScope(c.DefaultScope), oauth.JoinScope(c.ScopesSupported))
	}
	if c.AccessTTL <= 0 {
		ps.Add("AccessTTL", "the access token lifetime must be positive")
	}
	if c.RefreshTTL <= 0 {
		ps.Add("RefreshTTL", "the refresh token lifetime must be positive")
	}
	if c.RefreshGrace < 0 {
		ps.Add("RefreshGrace", "the refresh grace must not be negative")
	}
	if c.ClientIdleTTL < 0 {
		ps.Add("ClientIdleTTL", "the client idle time must not be negative")
	}
	if err := c.Admission.Check(); err != nil {
		ps.Add("Admission", "%v", err)
	}
	return ps.Err()
}

// defaults validates c and fills what it may leave out.
func (c *Config) defaults() error {
	if err := c.Validate(); err != nil {
		return err
	}
	if c.DefaultResource == "" {
		c.DefaultResource = c.Resources[0].Resource
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Audit == nil {
		c.Audit = c.Logger
	}
	setDur := func(d *time.Duration, def time.Duration) {
		if *d == 0 {
			*d = def
		}
	}
	setDur(&c.CodeTTL, time.Minute)
	setDur(&c.StateTTL, 10*time.Minute)
	return nil
}

// close releases the listeners of a server that will not run.
func (s *Server) close() {
	s.ln.Close()
	if s.opsLn != nil {
		s.opsLn.Close()
	}
}

// URL is the issuer.
func (s *Server) URL() string { return s.cfg.Issuer }

// OpsURL is the base URL of the ops listener (/metrics, /status), or ""
// when there is none.
func (s *Server) OpsURL() string { return httpx.OpsURL(s.opsLn) }

// OpsHandler serves the ops listener's routes (for tests that mount it).
func (s *Server) OpsHandler() http.Handler {
	return httpx.Ops{Metrics: s.metrics.Handler(), Status: s.serveStatus, Healthz: s.healthz, Readyz: s.readyz}.Handler()
}

// Handler serves the auth server's routes (for tests that mount it).
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves until ctx ends and sweeps expired rows once a minute.
func (s *Server) Run(ctx context.Context) error {
	go httpx.Every(ctx, time.Minute, s.sweep)
	srv := httpx.NewServer(s.handler, s.log, httpx.Options{})
	s.log.InfoContext(ctx, "auth server listening", "issuer", s.cfg.Issuer, "upstream", s.upstream.Endpoint("/"), "ops", s.OpsURL())
	g, ctx := errgroup.WithContext(ctx)
	g.Go(func() error { return httpx.ServeOps(ctx, s.opsLn, s.OpsHandler(), s.log) })
	g.Go(func() error { return httpx.Serve(ctx, srv, s.ln, s.cfg.TLSCert, s.cfg.TLSKey) })
	return g.Wait()
}

// usedRefreshWindow keeps a rotated refresh token's row a little past its
// grace, for rotations of it still in flight on other instances. A replay
// after that is still reuse: the token names its family (refreshFamily).
const usedRefreshWindow = time.Minute

func (s *Server) retention() store.Retention {
	return store.Retention{UsedRefresh: max(s.cfg.RefreshGrace, 0) + usedRefreshWindow, ClientIdle: s.cfg.ClientIdleTTL}
}

// Sweep runs one sweep now (Run sweeps once a minute).
func (s *Server) Sweep(ctx context.Context) { s.sweep(ctx) }

func (s *Server) sweep(ctx context.Context) {
	if n, err := s.store.Sweep(ctx, s.now(), s.retention()); err != nil {
		s.log.WarnContext(ctx, "sweep failed", "err", err)
	} else if n > 0 {
		s.log.DebugContext(ctx, "swept expired rows", "rows", n)
	}
}

// endpoint is the public URL of one of this server's paths.
func (s *Server) endpoint(path string) string { return s.cfg.Issuer + path }

func (s *Server) resourceServer(resource string) *ResourceServer {
	for i := range s.cfg.Resources {
		if oauth.SameResource(s.cfg.Resources[i].Resource, resource) {
			return &s.cfg.Resources[i]
		}
	}
	return nil
}

func (s *Server) errorPage(w http.ResponseWriter, status int, title, msg, detail string) {
	s.pages.Render(w, "error", status, web.Page{Brand: "tmcp", Title: title, Message: msg, Detail: detail, AssetPrefix: s.prefix})
}
