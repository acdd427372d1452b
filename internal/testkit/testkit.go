// Package testkit starts tmcp's real servers on loopback for tests and
// drives their HTML pages the way a person's browser would: a cookie jar,
// redirects followed, forms parsed and submitted.
package testkit

import (
	"context"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/sqlite"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Demo credentials of the sandbox started by StartSandbox.
const (
	DemoEmail    = "demo@example.com"
	DemoPassword = "demo-password"
	// UpstreamClientID and UpstreamSecret are tmcp's client at the sandbox.
	UpstreamClientID = "tmcp-test"
	UpstreamSecret   = "tmcp-test-secret"
	ResourceURL      = "http://localhost:8001/mcp"
	ResourceClientID = "tmcp-resource"
	ResourceSecret   = "resource-test-secret"
)

// Logger returns a debug logger that writes into w, or one that logs
// nothing (and formats nothing) when w is nil.
func Logger(w io.Writer) *slog.Logger {
	if w == nil {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(httpx.ContextHandler{Handler: slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})})
}

// run serves srv until the test ends and waits for it to stop.
func run(t testing.TB, start func(ctx context.Context) error) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := start(ctx); err != nil {
			t.Errorf("server stopped: %v", err)
		}
	}()
	t.Cleanup(func() { cancel(); wg.Wait() })
}

// StartSandbox runs a sandbox on a free loopback port with tmcp's client
// pre-registered for redirectURI.
func StartSandbox(t testing.TB, redirectURI string, mutate ...func(*sandbox.Config)) *sandbox.Server {
	t.Helper()
	cfg := sandbox.Config{
		Addr: "127.0.0.1:0", DBPath: filepath.Join(t.TempDir(), "sandbox.db"),
		DemoEmail: DemoEmail, DemoPassword: DemoPassword,
		ClientID: UpstreamClientID, ClientSecret: UpstreamSecret, RedirectURIs: []string{redirectURI},
		Logger: Logger(nil), PasswordCost: 4, // bcrypt.MinCost: tests log in often
	}
	for _, m := range mutate {
		m(&cfg)
	}
	s, err := sandbox.New(context.Background(), cfg)
	if err != nil {
		t.Fatalf("start sandbox: %v", err)
	}
	run(t, s.Run)
	return s
}

// Stack is a sandbox and an auth server wired together.
type Stack struct {
	Sandbox   *sandbox.Server
	Auth      *authserver.Server
	Resource  *resource.Server // when AuthOptions.Resource
	Store     *sqlite.Store
	StorePath string
	// Config is what the auth server was started with.
	Config authserver.Config
}

// AuthOptions tweak the auth server StartStack runs.
type AuthOptions struct {
	Log         io.Writer
	Now         func() time.Time
	UpstreamURL string // default: the sandbox
	Mutate      func(*authserver.Config)
	// MutateSandbox adjusts the sandbox's config.
	MutateSandbox func(*sandbox.Config)
	// OnSandbox learns the sandbox's URL before the auth server starts.
	OnSandbox func(url string)
	// Provider, when set, replaces the sandbox as the auth server's
	// upstream: it gets the auth server's callback URL and returns the
	// upstream settings (the sandbox still runs, for the resource server).
	Provider func(callback string) upstream.Config
	// DiscoverUpstream makes the auth server discover the sandbox's
	// endpoints from its issuer (the sandbox needs Discovery on).
	DiscoverUpstream bool
	// IssuerPath serves the auth server under a path of its origin.
	IssuerPath string
	// Store replaces the SQLite store the auth server gets.
	Store store.Store
	// Resource starts a resource server too, as the auth server's first
	// resource; MutateResource adjusts its config.
	Resource       bool
	MutateResource func(*resource.Config)
}

// StartStack starts a sandbox and an auth server that uses it.
func StartStack(t testing.TB, opts AuthOptions) *Stack {
	t.Helper()
	// The auth server's port is known only once it listens, and the
	// sandbox must know its callback first: reserve a port by binding
	// the auth server on an ephemeral port and reading its URL.
	storePath := filepath.Join(t.TempDir(), "tmcp.db")
	st, err := sqlite.Open(context.Background(), storePath)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	var authStore store.Store = st
	if opts.Store != nil {
		authStore = opts.Store
	}
	cfg := authserver.Config{
		Store: authStore, EncryptionKey: make([]byte, 32),
		Upstream: upstream.Config{
			BaseURL: "http://127.0.0.1:1", AuthorizeEndpoint: "/api/oauth/authorize", TokenEndpoint: "/api/oauth/token",
			UserinfoEndpoint: "/api/oauth/userinfo", ClientsEndpoint: "/api/oauth/clients", JWKSEndpoint: "/api/oauth/jwks",
			ClientID: UpstreamClientID, ClientSecret: UpstreamSecret, Timeout: 5 * time.Second,
		},
		ScopesSupported: []string{"read", "write"}, DefaultScope: []string{"read"}, CORSOrigins: []string{"*"},
		TokenFormat: authserver.FormatOpaque, AccessTTL: time.Hour, RefreshTTL: 30 * 24 * time.Hour, RefreshGrace: 10 * time.Second,
		Resources: []authserver.ResourceServer{
			{Resource: ResourceURL, ClientID: ResourceClientID, ClientSecret: ResourceSecret},
			{Resource: "http://localhost:8002/mcp", ClientID: "other-resource", ClientSecret: "other-secret"},
		},
		Logger: Logger(opts.Log), Now: opts.Now,
	}
	if opts.Mutate != nil {
		opts.Mutate(&cfg)
	}
	var resLn net.Listener
	if opts.Resource {
		if resLn, err = net.Listen("tcp", "127.0.0.1:0"); err != nil {
			t.Fatal(err)
		}
		cfg.Resources[0].Resource = "http://" + resLn.Addr().String() + "/mcp"
	}
	// The sandbox needs the auth server's callback URL before the auth
	// server needs the sandbox's: listen first, so both URLs are known.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Listener = ln
	cfg.Issuer = "http://" + ln.Addr().String() + opts.IssuerPath
	var sbMutate []func(*sandbox.Config)
	if opts.MutateSandbox != nil {
		sbMutate = append(sbMutate, opts.MutateSandbox)
	}
	sb := StartSandbox(t, cfg.Issuer+"/oauth/callback", sbMutate...)
	if opts.OnSandbox != nil {
		opts.OnSandbox(sb.URL())
	}
	cfg.Upstream.BaseURL = sb.URL()
	if opts.DiscoverUpstream {
		cfg.Upstream.Issuer = sb.URL()
	}
	if opts.UpstreamURL != "" {
		cfg.Upstream.BaseURL = opts.UpstreamURL
	}
	if opts.Provider != nil {
		cfg.Upstream = opts.Provider(cfg.Issuer + "/oauth/callback")
	}
	var rcfg resource.Config
	if opts.Resource {
		rcfg = resource.Config{Listener: resLn, Resource: cfg.Resources[0].Resource, AuthServerURL: strings.TrimSuffix(cfg.Issuer, "/"),
			ClientID: ResourceClientID, ClientSecret: ResourceSecret, TaskManager: sb.URL(),
			ScopesSupported: cfg.ScopesSupported, DefaultScope: cfg.DefaultScope, AllowedOrigins: []string{"*"},
			Transport: resource.TransportStreamable, CacheTTL: 30 * time.Second, Logger: Logger(opts.Log), Now: opts.Now}
		if opts.MutateResource != nil {
			opts.MutateResource(&rcfg)
		}
		// As tmcp dev does: the MCP server behind the gateway is the
		// audience its identity assertions may have.
		if rcfg.IdentityAssertion && rcfg.Proxy != "" && len(cfg.Resources[0].AssertionAudiences) == 0 {
			cfg.Resources[0].AssertionAudiences = []string{rcfg.Proxy}
		}
	}
	auth, err := authserver.New(cfg)
	if err != nil {
		t.Fatalf("auth server: %v", err)
	}
	run(t, auth.Run)
	stack := &Stack{Sandbox: sb, Auth: auth, Store: st, StorePath: storePath, Config: cfg}
	if opts.Resource {
		rs, err := resource.New(rcfg)
		if err != nil {
			t.Fatalf("resource server: %v", err)
		}
		run(t, rs.Run)
		stack.Resource = rs
	}
	return stack
}

// LogBuffer collects log output from servers running in other goroutines.
type LogBuffer struct {
	mu  sync.Mutex
	buf []byte
}

func (l *LogBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf = append(l.buf, p...)
	return len(p), nil
}

// String returns everything written so far.
func (l *LogBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.buf)
}

// FreePorts returns n distinct loopback ports that were free a moment ago:
// for processes that take a port number rather than a listener. They are
// held together while chosen, so they differ.
func FreePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer ln.Close()
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort is one free loopback port for a test.
func FreePort(t testing.TB) int {
	t.Helper()
	ports, err := FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	return ports[0]
}

// WaitForPort waits until something accepts connections on the loopback
// port, for processes started by a test.
func WaitForPort(t testing.TB, port int, within time.Duration) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	for deadline := time.Now().Add(within); ; time.Sleep(50 * time.Millisecond) {
		if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("nothing listens on %s after %s", addr, within)
		}
	}
}
