package process

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/forward"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// The test binary doubles as the baselines' server process: with
// roleEnv set it serves that role on addrEnv and never runs the tests.
const (
	roleEnv = "TMCP_BENCH_ROLE"
	addrEnv = "TMCP_BENCH_ADDR"
	bodyEnv = "TMCP_BENCH_BODY"
	// backendEnv is the URL the bare Go proxy passes requests on to.
	backendEnv = "TMCP_BENCH_BACKEND"
)

func TestMain(m *testing.M) {
	switch os.Getenv(roleEnv) {
	case "":
		testkit.Main(m)
	case "mcp":
		serve(bareMCP())
	case "goproxy":
		serve(goProxy(os.Getenv(backendEnv)))
	case "form":
		body := []byte(os.Getenv(bodyEnv))
		serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			_ = r.PostForm.Get("token")
			w.Header().Set("Content-Type", "application/json")
			w.Write(body)
		}))
	default:
		fmt.Fprintf(os.Stderr, "unknown role %q\n", os.Getenv(roleEnv))
		os.Exit(2)
	}
}

func serve(h http.Handler) {
	err := http.ListenAndServe(os.Getenv(addrEnv), h)
	fmt.Fprintln(os.Stderr, err)
	os.Exit(1)
}

// bareMCP is an mcp-go streamable HTTP server with tmcp's whoami tool
// answering the same structured result, and no authentication at all:
// the baseline for tools/call and the gateway's backend.
func bareMCP() http.Handler {
	s := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id := map[string]any{"sub": "user-demo@example.com", "username": "demo@example.com",
			"client_id": "tmcp_ci_xxxxxxxxxxxxxxxxxxxxxx", "scopes": []string{"read"}, "expires_at": "2026-01-01T00:00:00Z"}
		b, _ := json.MarshalIndent(id, "", "  ")
		return mcp.NewToolResultStructured(id, string(b)), nil
	})
	mux := http.NewServeMux()
	mux.Handle("/mcp", server.NewStreamableHTTPServer(s, server.WithDisableLocalhostProtection(true)))
	return mux
}

// goProxy is the least a Go reverse proxy does: net/http's server and
// the gateway's own forwarder (internal/forward), no token, no message
// decoded, no identity, no log: what any gateway written in Go pays
// before its checks, beside what nginx and haproxy pay.
func goProxy(backend string) http.Handler {
	u, err := url.Parse(backend)
	if err != nil {
		panic(err)
	}
	f, err := forward.New(u, forward.Options{HeaderTimeout: 10 * time.Second, MaxIdle: 256})
	if err != nil {
		panic(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		resp, err := f.Do(r.Context(), &forward.Request{Method: r.Method, Header: r.Header, Body: body, RawQuery: r.URL.RawQuery})
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		io.Copy(w, resp.Body)
	})
}

// start runs cmd until the benchmark ends (SIGINT, then SIGKILL after 5 s)
// and waits until something answers on port. Its output, unless cmd
// already has somewhere to send it, goes to a file in dir, shown if it
// never comes up.
func start(tb testing.TB, dir, name string, port int, cmd *exec.Cmd) *exec.Cmd {
	tb.Helper()
	logPath := filepath.Join(dir, name+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		tb.Fatal(err)
	}
	if cmd.Stdout == nil && cmd.Stderr == nil {
		cmd.Stdout, cmd.Stderr = logFile, logFile
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); logFile.Close(); close(exited) }()
	tb.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGINT)
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			out, _ := os.ReadFile(logPath)
			tb.Fatalf("%s exited at start:\n%s", name, out)
		default:
		}
		if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second); err == nil {
			c.Close()
			return cmd
		}
		time.Sleep(50 * time.Millisecond)
	}
	out, _ := os.ReadFile(logPath)
	tb.Fatalf("%s never listened on %d:\n%s", name, port, out)
	return nil
}

// self starts the test binary in role on a free port (its log named
// after name); its address.
func self(tb testing.TB, dir, name, role string, env ...string) string {
	port := testkit.FreePort(tb)
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(append(os.Environ(), roleEnv+"="+role, addrEnv+"="+addr), env...)
	start(tb, dir, name, port, cmd)
	return addr
}

// dev is one `tmcp dev` process: the sandbox, the auth server and the
// resource server on embedded defaults, with a state directory of its
// own.
type dev struct {
	authURL, mcpURL string
	stateDir        string
}

// resourceSecret is what each dev process's resource server introspects
// with (client tmcp-resource).
const resourceSecret = "bench-resource-secret"

func startDev(tb testing.TB, dir, name string, env []string, args ...string) *dev {
	tb.Helper()
	sb, auth, res := testkit.FreePort(tb), testkit.FreePort(tb), testkit.FreePort(tb)
	state := filepath.Join(dir, name)
	if err := os.MkdirAll(state, 0o700); err != nil {
		tb.Fatal(err)
	}
	cmd := exec.Command(testkit.Binary(tb), append([]string{"dev", "--sandbox-port", strconv.Itoa(sb),
		"--auth-port", strconv.Itoa(auth), "--resource-port", strconv.Itoa(res)}, args...)...)
	cmd.Env = append(append(os.Environ(), "TMCP_STATE_DIR="+state, "XDG_CONFIG_HOME="+state,
		"TMCP_RESOURCE_CLIENT_SECRET="+resourceSecret, "NO_COLOR=1"), env...)
	start(tb, dir, name, res, cmd)
	waitHealthy(tb, fmt.Sprintf("http://localhost:%d/healthz", auth))
	return &dev{authURL: fmt.Sprintf("http://localhost:%d", auth), mcpURL: fmt.Sprintf("http://localhost:%d/mcp", res),
		stateDir: state}
}

func waitHealthy(tb testing.TB, u string) {
	tb.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	tb.Fatalf("%s never answered 200", u)
}

// token signs the demo user in through d's auth server and the sandbox,
// as a public client, for d's MCP server.
func (d *dev) token(tb testing.TB) string {
	tb.Helper()
	c := testkit.Discover(tb, d.authURL)
	c.Resource = d.mcpURL
	c.RegisterPublic()
	return c.SignInForTokens(map[string]string{"scope": "read"})["access_token"].(string)
}

// nginx runs Debian's nginx as a plain reverse proxy (no auth) in front
// of backend, with a keep-alive upstream; its address.
func nginx(tb testing.TB, dir, backend string) string {
	tb.Helper()
	port := testkit.FreePort(tb)
	root := filepath.Join(dir, "nginx")
	if err := os.MkdirAll(root, 0o755); err != nil {
		tb.Fatal(err)
	}
	conf := fmt.Sprintf(`worker_processes auto;
daemon off;
pid %[1]s/nginx.pid;
error_log %[1]s/error.log warn;
events { worker_connections 1024; }
http {
	access_log off;
	client_body_temp_path %[1]s/body;
	proxy_temp_path %[1]s/proxy;
	fastcgi_temp_path %[1]s/fastcgi;
	uwsgi_temp_path %[1]s/uwsgi;
	scgi_temp_path %[1]s/scgi;
	upstream backend {
		server %[2]s;
		keepalive 64;
	}
	server {
		listen 127.0.0.1:%[3]d;
		location / {
			proxy_pass http://backend;
			proxy_http_version 1.1;
			proxy_set_header Connection "";
		}
	}
}
`, root, backend, port)
	path := filepath.Join(root, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	start(tb, dir, "nginx", port, exec.Command(nginxBin, "-p", root, "-c", path, "-e", root+"/error.log"))
	return "127.0.0.1:" + strconv.Itoa(port)
}

const nginxBin = "/usr/sbin/nginx"

// haproxy runs Debian's haproxy as a plain HTTP reverse proxy (no auth)
// in front of backend, reusing its server-side connections; its address.
func haproxy(tb testing.TB, dir, backend string) string {
	tb.Helper()
	port := testkit.FreePort(tb)
	conf := fmt.Sprintf(`global
	maxconn 1024
defaults
	mode http
	timeout connect 5s
	timeout client 30s
	timeout server 30s
	http-reuse always
frontend front
	bind 127.0.0.1:%d
	default_backend back
backend back
	server mcp %s
`, port, backend)
	path := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		tb.Fatal(err)
	}
	start(tb, dir, "haproxy", port, exec.Command("/usr/sbin/haproxy", "-db", "-f", path))
	return "127.0.0.1:" + strconv.Itoa(port)
}

// zitadelVersion is the zitadel/oidc release whose example provider is
// the reference for /introspect: the one go.mod requires.
const zitadelVersion = "v3.52.0"

// zitadel builds the example OpenID provider of zitadel/oidc (its own
// main, in-memory storage) from the module proxy and runs it as shipped;
// its issuer. (go.mod requires the module, so the build takes it from
// the module cache or the proxy; none of its code is in this tree.)
func zitadel(tb testing.TB, dir, redirectURI string) string {
	tb.Helper()
	bin := filepath.Join(dir, "zitadel-example-op")
	build := exec.Command("go", "build", "-o", bin, "github.com/zitadel/oidc/v3/example/server")
	if out, err := build.CombinedOutput(); err != nil {
		tb.Fatalf("build the zitadel/oidc %s example provider: %v\n%s", zitadelVersion, err, out)
	}
	port := testkit.FreePort(tb)
	cmd := exec.Command(bin)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "REDIRECT_URI="+redirectURI)
	// Its main logs every request at debug level: to /dev/null, so that
	// the reference pays for formatting its log, not for a file of it.
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		tb.Fatal(err)
	}
	defer devNull.Close()
	cmd.Stdout, cmd.Stderr = devNull, devNull
	start(tb, dir, "zitadel", port, cmd)
	return "http://localhost:" + strconv.Itoa(port)
}
