package interop_test

import (
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// startTmcp runs the tmcp binary with args and env until the test ends
// (SIGINT), and waits for health to answer 200.
func startTmcp(t *testing.T, env []string, health string, args ...string) {
	t.Helper()
	cmd := exec.Command(testkit.Binary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var logs testkit.LogBuffer
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		if t.Failed() {
			t.Logf("tmcp %s:\n%s", strings.Join(args, " "), logs.String())
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for {
		if resp, err := http.Get(health); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s never became healthy:\n%s", health, logs.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestRoundRobin_TwoStdioGatewaysServeAModernClient puts two stdio
// gateway processes (the everything server, a process per backend
// session) behind a plain round-robin balancer, with no stickiness, and
// drives the TypeScript SDK v2 client pinned to 2026-07-28 through it:
// its requests land on both gateways alternately, and sign-in, tools/list,
// calls and the step-up all work, since nothing a 2026-07-28 request
// needs lives in one gateway only (each opens its own backend session for
// the user and client).
func TestRoundRobin_TwoStdioGatewaysServeAModernClient(t *testing.T) {
	dir := interopDir(t)
	authPort, gwA, gwB := testkit.FreePort(t), testkit.FreePort(t), testkit.FreePort(t)
	targets := []*url.URL{{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(gwA)}, {Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(gwB)}}
	var next atomic.Int64
	var served [2]atomic.Int64 // 2026-07-28 requests each gateway got
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		i := int(next.Add(1) % 2)
		if r.Header.Get("Mcp-Protocol-Version") == "2026-07-28" {
			served[i].Add(1)
		}
		rp := httputil.NewSingleHostReverseProxy(targets[i])
		rp.FlushInterval = -1
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	lbURL := strings.Replace(lb.URL, "127.0.0.1", "localhost", 1)
	authURL := "http://localhost:" + strconv.Itoa(authPort)
	sb := testkit.StartSandbox(t, authURL+"/oauth/callback")
	env := []string{"TMCP_RESOURCE_CLIENT_SECRET=round-robin-resource-secret", "TASKMANAGER_BASE_URL=" + sb.URL(),
		"TASKMANAGER_CLIENT_ID=" + testkit.UpstreamClientID, "TASKMANAGER_CLIENT_SECRET=" + testkit.UpstreamSecret,
		"XDG_STATE_HOME=" + t.TempDir(), "XDG_CONFIG_HOME=" + t.TempDir()}
	startTmcp(t, env, authURL+"/healthz", "serve", "auth", "--port", strconv.Itoa(authPort), "--issuer", authURL,
		"--resource", lbURL+"/mcp", "--rate-limit", "0", "--registration-limit", "0", "--client-rate-limit", "0")
	for _, port := range []int{gwA, gwB} {
		startTmcp(t, env, "http://localhost:"+strconv.Itoa(port)+"/healthz", "serve", "resource", "--port", strconv.Itoa(port),
			"--public-url", lbURL+"/mcp", "--auth-server", authURL, "--tool-scope", "echo=write",
			"--", node(dir), everythingScript(dir), "stdio")
	}

	got := runTS2Client(t, dir, lbURL+"/mcp", "pin", "get-env", "echo", `{"message":"through both"}`)
	t.Logf("through the balancer: %+v; 2026-07-28 requests per gateway %d, %d", got, served[0].Load(), served[1].Load())
	switch {
	case got.Version != "2026-07-28" || got.InitializeSent || got.SessionSent:
		t.Fatalf("negotiated %q, initialize sent %v, session sent %v", got.Version, got.InitializeSent, got.SessionSent)
	case got.CalledError || len(got.Tools) == 0 || got.StepUp != "read write" || got.WrittenError || !strings.Contains(string(got.Written), "through both"):
		t.Fatalf("tools %v, get-env %s, step-up %q, echo %s", got.Tools, got.Called, got.StepUp, got.Written)
	case served[0].Load() < 2 || served[1].Load() < 2:
		t.Fatalf("the balancer sent 2026-07-28 requests %d and %d times to the gateways: not both", served[0].Load(), served[1].Load())
	}
}
