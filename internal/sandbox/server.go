// Package sandbox is `tmcp serve sandbox`: a small but real OAuth 2.0
// provider that behaves like TaskManager (session-cookie login, the
// /api/oauth/* endpoints, /api/tasks), for development, demos and tests.
// It implements RFC 6749 (authorization code, refresh), RFC 7636 (PKCE,
// S256 only), RFC 7662 (introspection) and a userinfo endpoint.
package sandbox

import (
	"context"
	"crypto/ecdsa"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/tmcp-dev/tmcp/internal/confcheck"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/web"
)

// Config is everything the sandbox needs.
type Config struct {
	Addr string // listen address, e.g. ":4321"
	// Listener, when set, is used instead of listening on Addr.
	Listener     net.Listener
	PublicURL    string // how browsers reach it; derived from Addr when empty
	DBPath       string
	CookieName   string
	DemoEmail    string
	DemoPassword string
	// A client registered at start, so `serve auth` can run without a browser.
	ClientID     string
	ClientSecret string
	RedirectURIs []string
	// JWTAccessTokens issues access tokens as ES256 JWTs (RFC 9068 shape,
	// aud = the client id) instead of opaque strings; JWTIssuer is their
	// iss (default the public URL).
	JWTAccessTokens bool
	JWTIssuer       string
	// Discovery publishes OpenID Connect / RFC 8414 metadata whose
	// endpoints live under /oidc/, as a generic provider's would.
	Discovery bool
	// FailedLogins a minute per address before logins from it are
	// refused (0: no limit).
	FailedLogins int
	// PasswordCost is the bcrypt cost of the demo password (tests lower it).
	PasswordCost int
	AccessTTL    time.Duration
	RefreshTTL   time.Duration
	TLSCert      string
	TLSKey       string
	Logger       *slog.Logger
	Now          func() time.Time
}

// Server is a running sandbox.
type Server struct {
	cfg     Config
	db      *db
	log     *slog.Logger
	now     func() time.Time
	pages   web.Pages
	grants  oauth.Grants[tokenGrant]
	kid     string
	key     *ecdsa.PrivateKey
	demo    *user
	logins  *httpx.Limiter
	ln      net.Listener
	handler http.Handler
}

//go:embed templates/*.html
var templates embed.FS

// Scopes the sandbox knows, as TaskManager does.
var knownScopes = []string{"read", "write", "admin"}

// Validate reports every problem of c at once (confcheck.Problems), each
// naming the field it is about.
func (c Config) Validate() error {
	var ps confcheck.Problems
	if c.DemoEmail == "" {
		ps.Add("DemoEmail", "the demo user needs an email")
	}
	if c.DemoPassword == "" {
		ps.Add("DemoPassword", "the demo user needs a password")
	}
	if c.ClientID != "" && c.ClientSecret == "" {
		ps.Add("ClientSecret", "the pre-registered client %q needs a secret", c.ClientID)
	}
	if c.FailedLogins < 0 {
		ps.Add("FailedLogins", "must not be negative")
	}
	return ps.Err()
}

// New opens the sandbox's state, creates the demo user and the optional
// pre-registered client, and binds its listener (so the URL is known before
// Run).
func New(ctx context.Context, cfg Config) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CookieName == "" {
		cfg.CookieName = "session"
	}
	if cfg.PasswordCost == 0 {
		cfg.PasswordCost = bcrypt.DefaultCost
	}
	if cfg.AccessTTL == 0 {
		cfg.AccessTTL = time.Hour
	}
	if cfg.RefreshTTL == 0 {
		cfg.RefreshTTL = 30 * 24 * time.Hour
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	d, err := openDB(ctx, cfg.DBPath)
	if err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, db: d, log: cfg.Logger, now: cfg.Now, pages: web.ParsePages(templates, "templates/*.html"),
		logins: httpx.NewLimiter(cfg.FailedLogins, time.Minute, cfg.FailedLogins)}
	s.grants = oauth.Grants[tokenGrant]{oauth.GrantAuthorizationCode: s.exchangeCode, oauth.GrantRefreshToken: s.refresh}
	if err := s.setup(ctx); err != nil {
		d.sql.Close()
		return nil, err
	}
	ln := cfg.Listener
	if ln == nil {
		if ln, err = httpx.Listen(cfg.Addr); err != nil {
			d.sql.Close()
			return nil, err
		}
	}
	s.ln = ln
	if s.cfg.PublicURL == "" {
		s.cfg.PublicURL = httpx.ListenerURL(ln, cfg.TLSCert != "")
	}
	s.cfg.PublicURL = strings.TrimSuffix(s.cfg.PublicURL, "/")
	if s.cfg.JWTIssuer == "" {
		s.cfg.JWTIssuer = s.cfg.PublicURL
	}
	s.handler = s.routes()
	return s, nil
}

func (s *Server) setup(ctx context.Context) error {
	hash, err := bcrypt.GenerateFromPassword([]byte(s.cfg.DemoPassword), max(s.cfg.PasswordCost, bcrypt.MinCost))
	if err != nil {
		return err
	}
	email := strings.ToLower(s.cfg.DemoEmail)
	if err := s.db.upsertUser(ctx, user{ID: "user-" + email, Email: email, Name: "Demo User", PasswordHash: string(hash)}); err != nil {
		return fmt.Errorf("create demo user: %w", err)
	}
	if s.demo, err = s.db.userByEmail(ctx, email); err != nil {
		return err
	}
	if s.kid, s.key, err = s.db.signingKey(ctx); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	if s.cfg.ClientID != "" {
		if s.cfg.ClientSecret == "" || len(s.cfg.RedirectURIs) == 0 {
			return errors.New("sandbox: a pre-registered client needs --client-secret and --redirect-uri")
		}
		if err := s.db.upsertClient(ctx, client{
			ID: s.cfg.ClientID, SecretHash: hashSecret(s.cfg.ClientSecret), Name: "tmcp (pre-registered)",
			RedirectURIs: s.cfg.RedirectURIs, Scopes: knownScopes, OwnerID: s.demo.ID, CreatedAt: s.now(),
		}); err != nil {
			return fmt.Errorf("pre-register client: %w", err)
		}
	}
	return nil
}

// URL is the sandbox's public base URL.
func (s *Server) URL() string { return s.cfg.PublicURL }

// Handler is the sandbox's HTTP handler (for tests that mount it).
func (s *Server) Handler() http.Handler { return s.handler }

// Run serves until ctx ends, sweeping expired rows once a minute.
func (s *Server) Run(ctx context.Context) error {
	defer s.db.sql.Close()
	go httpx.Every(ctx, time.Minute, func(ctx context.Context) { s.db.sweep(ctx, s.now()) })
	srv := httpx.NewServer(s.handler, s.log, httpx.Options{})
	s.log.InfoContext(ctx, "sandbox TaskManager listening", "url", s.cfg.PublicURL, "demo_user", s.cfg.DemoEmail)
	return httpx.Serve(ctx, srv, s.ln, s.cfg.TLSCert, s.cfg.TLSKey)
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", web.Assets())
	mux.HandleFunc("GET /{$}", s.home)
	mux.HandleFunc("GET /login", s.loginPage)
	mux.HandleFunc("POST /login", s.login)
	mux.HandleFunc("POST /logout", s.logout)
	mux.HandleFunc("GET /api/oauth/authorize", s.authorize)
	mux.HandleFunc("POST /api/oauth/authorize", s.authorizeDecision)
	mux.HandleFunc("POST /api/oauth/token", s.token)
	mux.HandleFunc("GET /api/oauth/clients", s.listClients)
	mux.HandleFunc("POST /api/oauth/clients", s.registerClient)
	mux.HandleFunc("GET /api/oauth/clients/{id}", s.getClient)
	mux.HandleFunc("GET /api/oauth/jwks", s.jwks)
	mux.HandleFunc("POST /api/oauth/introspect", s.introspect)
	mux.HandleFunc("GET /api/oauth/userinfo", s.userinfo)
	mux.HandleFunc("GET /api/tasks", s.requireScope("read", s.listTasks))
	mux.HandleFunc("POST /api/tasks", s.requireScope("write", s.createTask))
	mux.HandleFunc("GET /api/tasks/{id}", s.requireScope("read", s.getTask))
	mux.HandleFunc("PATCH /api/tasks/{id}", s.requireScope("write", s.updateTask))
	mux.HandleFunc("PUT /api/tasks/{id}", s.requireScope("write", s.updateTask))
	mux.HandleFunc("DELETE /api/tasks/{id}", s.requireScope("write", s.deleteTask))
	if s.cfg.Discovery {
		for _, p := range []string{"/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"} {
			mux.HandleFunc("GET "+p, s.discovery)
		}
		mux.HandleFunc("GET /oidc/authorize", s.authorize)
		mux.HandleFunc("POST /oidc/token", s.token)
		mux.HandleFunc("GET /oidc/userinfo", s.userinfo)
		mux.HandleFunc("GET /oidc/jwks", s.jwks)
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	metrics := httpx.NewMetrics("sandbox")
	mux.Handle("GET /metrics", metrics.Handler())
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.sql.PingContext(r.Context()); err != nil {
			w.Header().Set("Retry-After", "5")
			http.Error(w, "storage unavailable", http.StatusServiceUnavailable)
			return
		}
		w.Write([]byte("ready\n"))
	})
	return httpx.Log(s.log, metrics, httpx.LimitBody(64<<10, mux))
}

func (s *Server) page(w http.ResponseWriter, name string, status int, title string, data any) {
	s.pages.Render(w, name, status, web.Page{Brand: "TaskManager (sandbox)", Title: title, Data: data})
}

func (s *Server) errorPage(w http.ResponseWriter, status int, title, msg string) {
	s.pages.Render(w, "error", status, web.Page{Brand: "TaskManager (sandbox)", Title: title, Message: msg})
}
