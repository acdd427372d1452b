package bench

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store/sqlrow"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func TestMain(m *testing.M) { testkit.Main(m) }

const workers = 8

// bareMCP is the same mcp-go streamable server and whoami tool, with no
// authentication at all: the baseline for tools/call.
func bareMCP(tb testing.TB) string {
	s := server.NewMCPServer("bare", "1", server.WithToolCapabilities(false))
	// The same tool as tmcp's whoami, answering the same structured result.
	s.AddTool(mcp.NewTool("whoami"), func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id := map[string]any{"sub": "user-demo@example.com", "username": "demo@example.com",
			"client_id": "tmcp_ci_xxxxxxxxxxxxxxxxxxxxxx", "scopes": []string{"read"}, "expires_at": "2026-01-01T00:00:00Z"}
		b, _ := json.MarshalIndent(id, "", "  ")
		return mcp.NewToolResultStructured(id, string(b)), nil
	})
	srv := httptest.NewServer(server.NewStreamableHTTPServer(s, server.WithDisableLocalhostProtection(true)))
	tb.Cleanup(srv.Close)
	return srv.URL + "/mcp"
}

// BenchmarkGateway: authenticated tools/call through serve resource --proxy
// against calling the same backend (mcp-go, the whoami tool above, no
// auth) directly, driven by the raw load generator (target ≥ 0.70). The
// built-in server against the bare one, by the same generator, rides
// along (target ≥ 0.90, opaque tokens with the cache).
func BenchmarkGateway(b *testing.B) {
	for i := 0; i < b.N; i++ {
		backend := bareMCP(b)
		direct := rawCaller(b, backend, "none", "whoami")
		gw := testkit.StartStack(b, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) { c.Proxy = backend }})
		through := rawCaller(b, gw.Resource.URL(), gw.AccessToken(b, "read"), "whoami")
		builtin := testkit.StartStack(b, testkit.AuthOptions{Resource: true})
		own := rawCaller(b, builtin.Resource.URL(), builtin.AccessToken(b, "read"), "whoami")
		// Two references. A bare httputil.ReverseProxy (no auth, no
		// checks) in front of the same backend: what a gateway built on
		// the standard library's proxy reaches here. A TCP forwarder that
		// copies bytes and parses nothing: the cost of the second hop
		// alone, which no HTTP gateway can beat.
		target, _ := url.Parse(backend)
		bareProxy := httptest.NewServer(&httputil.ReverseProxy{Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.URL.Path = target.Path },
			Transport: &http.Transport{MaxIdleConnsPerHost: 256}})
		defer bareProxy.Close()
		proxied := rawCaller(b, bareProxy.URL+target.Path, "none", "whoami")
		copied := rawCaller(b, "http://"+tcpForwarder(b, target.Host)+target.Path, "none", "whoami")
		rounds := inRounds(b, rawWorkers, 6, time.Second, direct, through, own, proxied, copied)
		rates := meanRates(rounds)
		ratio := func(i int) float64 { return medianRatio(rounds, i) }
		b.ReportMetric(ratio(1), "ratio_gateway")
		b.ReportMetric(ratio(2), "ratio_builtin")
		b.ReportMetric(ratio(3), "ratio_reverse_proxy")
		b.ReportMetric(ratio(4), "ratio_tcp_forwarder")
		fmt.Printf("tools/call  gateway  %8.0f/s  backend directly %8.0f/s  ratio %.2f  (%d connections)\n", rates[1], rates[0], ratio(1), rawWorkers)
		fmt.Printf("tools/call  httputil.ReverseProxy %8.0f/s  ratio %.2f; TCP forwarder %8.0f/s  ratio %.2f\n", rates[3], ratio(3), rates[4], ratio(4))
		fmt.Printf("tools/call  built-in %8.0f/s  bare mcp-go       %8.0f/s  ratio %.2f  (%d connections)\n", rates[2], rates[0], ratio(2), rawWorkers)
		// The strict reading of each message (internal/mcpmsg), as a share of
		// the CPU time a gateway call takes at the rate just measured.
		call := []byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`)
		const reads = 200000
		began := time.Now()
		for range reads {
			mcpmsg.Decode(call)
		}
		decodeNs := float64(time.Since(began).Nanoseconds()) / reads
		perCall := float64(runtime.NumCPU()) * 1e9 / rates[1]
		b.ReportMetric(decodeNs/perCall, "decode_share")
		fmt.Printf("tools/call  strict message reading %.0f ns a call = %.1f%% of a gateway call's CPU time (%.0f µs on %d cores)\n",
			decodeNs, 100*decodeNs/perCall, perCall/1e3, runtime.NumCPU())
	}
}

// tcpForwarder copies bytes between each connection it accepts and one
// it opens to address, parsing nothing.
func tcpForwarder(tb testing.TB, address string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				up, err := net.Dial("tcp", address)
				if err != nil {
					return
				}
				go func() { io.Copy(up, c); up.Close() }()
				io.Copy(c, up)
			}()
		}
	}()
	return ln.Addr().String()
}

// interleaved measures each op in turn, rounds times, so drift in the
// machine's state (other processes, GC, CPU boost) hits all alike; it
// returns the mean rate of each.
func interleaved(tb testing.TB, rounds int, per time.Duration, ops ...func(int) error) []float64 {
	return interleavedWith(tb, workers, rounds, per, ops...)
}

func interleavedWith(tb testing.TB, n, rounds int, per time.Duration, ops ...func(int) error) []float64 {
	sums := make([]float64, len(ops))
	for _, round := range inRounds(tb, n, rounds, per, ops...) {
		for i, rate := range round {
			sums[i] += rate / float64(rounds)
		}
	}
	return sums
}

// inRounds measures each op in turn, rounds times, and returns each
// round's rates.
func inRounds(tb testing.TB, n, rounds int, per time.Duration, ops ...func(int) error) [][]float64 {
	out := make([][]float64, rounds)
	for r := range out {
		out[r] = make([]float64, len(ops))
		for i, op := range ops {
			runtime.GC()
			rate, errs := load(n, per, op)
			if errs > 0 {
				tb.Fatalf("%d errors", errs)
			}
			out[r][i] = rate
		}
	}
	return out
}

// medianRatio is the median over rounds of op i's rate against op 0's in
// the same round: a round in which the machine ran fast or slow for one
// of them counts once, not by how far off it was.
func medianRatio(rounds [][]float64, i int) float64 {
	ratios := make([]float64, len(rounds))
	for r, rates := range rounds {
		ratios[r] = rates[i] / rates[0]
	}
	sort.Float64s(ratios)
	if n := len(ratios); n%2 == 0 {
		return (ratios[n/2-1] + ratios[n/2]) / 2
	}
	return ratios[len(ratios)/2]
}

// meanRates is each op's mean rate over rounds.
func meanRates(rounds [][]float64) []float64 {
	out := make([]float64, len(rounds[0]))
	for _, rates := range rounds {
		for i, rate := range rates {
			out[i] += rate / float64(len(rounds))
		}
	}
	return out
}

// fillTokens stores n live access tokens in the stack's SQLite store, on
// the grant of token (the hot lookups then search a table of that size),
// in one statement: row by row through the store would take a minute.
func fillTokens(tb testing.TB, stack *testkit.Stack, token string, n int) {
	ctx := context.Background()
	t, err := stack.Store.GetToken(ctx, secrets.Hash(token))
	if err != nil {
		tb.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+stack.StorePath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatal(err)
	}
	defer db.Close()
	now := time.Now()
	_, err = db.ExecContext(ctx, `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
		INSERT INTO tokens (`+sqlrow.TokenColumns+`)
		SELECT lower(hex(randomblob(32))), 'access', ?, 'filler-' || i, 'read', ?, ?, 0, 0, '', NULL, 0, '' FROM n`,
		n, t.GrantID, now.UnixNano(), now.Add(time.Hour).UnixNano())
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkFullFlow: sequential full sign-ins (discovery is done once;
// authorize → consent → TaskManager login and consent → callback → token),
// headless against the sandbox (target: median < 300 ms).
func BenchmarkFullFlow(b *testing.B) {
	for i := 0; i < b.N; i++ {
		stack := testkit.StartStack(b, testkit.AuthOptions{})
		c := stack.PublicClient(b)
		var ds []time.Duration
		for j := 0; j < 200; j++ {
			start := time.Now()
			authz := c.AuthorizeURL(nil)
			back := testkit.SignIn(b, testkit.NewBrowser(b, c.RedirectURI), authz.URL)
			if status, _ := c.Exchange(back.Query().Get("code"), authz.Verifier); status != 200 {
				b.Fatalf("flow %d failed", j)
			}
			ds = append(ds, time.Since(start))
		}
		med, p99 := percentile(ds, 0.5), percentile(ds, 0.99)
		b.ReportMetric(float64(med.Microseconds())/1000, "median_ms")
		b.ReportMetric(float64(p99.Microseconds())/1000, "p99_ms")
		fmt.Printf("full flow          median %v  p99 %v  (200 flows)\n", med.Round(10*time.Microsecond), p99.Round(10*time.Microsecond))
	}
}

// startAuthProcess runs `serve auth` as its own process (for memory
// figures) against the sandbox at sbURL.
func startAuthProcess(b *testing.B, port int, sbURL string, extra ...string) *exec.Cmd {
	cmd := exec.Command(testkit.Binary(b), append([]string{"serve", "auth", "--port", strconv.Itoa(port), "--log-level", "warn",
		"--rate-limit", "0", "--registration-limit", "0", "--client-rate-limit", "0"}, extra...)...)
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+b.TempDir(), "XDG_CONFIG_HOME="+b.TempDir(),
		"TASKMANAGER_BASE_URL="+sbURL, "TASKMANAGER_CLIENT_ID="+testkit.UpstreamClientID,
		"TASKMANAGER_CLIENT_SECRET="+testkit.UpstreamSecret, "TMCP_RESOURCE_CLIENT_SECRET=bench-resource-secret")
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGINT); _ = cmd.Wait() })
	waitUp(b, fmt.Sprintf("http://localhost:%d/healthz", port))
	return cmd
}

func waitUp(b *testing.B, u string) {
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(u); err == nil {
			resp.Body.Close()
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	b.Fatalf("%s never came up", u)
}

// BenchmarkConcurrentFlows: 1,000 full sign-ins at once against one auth
// server process: errors (target zero), wall time and the process's peak
// RSS.
func BenchmarkConcurrentFlows(b *testing.B) {
	for i := 0; i < b.N; i++ {
		port := testkit.FreePort(b)
		base := fmt.Sprintf("http://localhost:%d", port)
		sb := testkit.StartSandbox(b, base+"/oauth/callback")
		proc := startAuthProcess(b, port, sb.URL())
		c := testkit.Discover(b, base)
		c.RegisterPublic()
		var wg sync.WaitGroup
		var mu sync.Mutex
		errs := 0
		kinds := map[string]int{}
		start := time.Now()
		for j := 0; j < 1000; j++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := oneFlow(c); err != nil {
					mu.Lock()
					errs++
					kinds[err.Error()]++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		wall := time.Since(start)
		peak := procMemKB(proc.Process.Pid, "VmHWM")
		b.ReportMetric(float64(errs), "errors")
		b.ReportMetric(wall.Seconds(), "wall_s")
		b.ReportMetric(float64(peak)/1024, "peak_rss_MiB")
		fmt.Printf("1000 concurrent    errors %d  wall %v  peak RSS %.1f MiB (serve auth)\n", errs, wall.Round(time.Millisecond), float64(peak)/1024)
		for k, n := range kinds {
			fmt.Printf("  %d× %.200s\n", n, k)
		}
		if errs > 0 {
			b.Errorf("%d of 1000 concurrent flows failed (target: none)", errs)
		}
	}
}

// oneFlow is a full sign-in without a testing.TB (it runs in goroutines).
func oneFlow(c *testkit.OAuthClient) error {
	authz := c.AuthorizeURL(nil)
	back, err := testkit.SignInURL(authz.URL, c.RedirectURI)
	if err != nil {
		return err
	}
	if e := back.Query().Get("error"); e != "" {
		return fmt.Errorf("callback: %s: %s", e, back.Query().Get("error_description"))
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"code_verifier": {authz.Verifier}, "redirect_uri": {c.RedirectURI}, "client_id": {c.ClientID}}
	resp, err := http.PostForm(c.Meta.TokenEndpoint, form)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		var e struct {
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		_ = json.NewDecoder(resp.Body).Decode(&e)
		return fmt.Errorf("token: %d %s: %s", resp.StatusCode, e.Error, e.Description)
	}
	return nil
}

// BenchmarkIdleAndStart: idle RSS of serve auth and serve resource
// (target ≤ 30 MB each) and the median start time of tmcp --help.
func BenchmarkIdleAndStart(b *testing.B) {
	for i := 0; i < b.N; i++ {
		sb := testkit.StartSandbox(b, "http://localhost:1/oauth/callback")
		authPort, resPort := testkit.FreePort(b), testkit.FreePort(b)
		auth := startAuthProcess(b, authPort, sb.URL())
		res := exec.Command(testkit.Binary(b), "serve", "resource", "--port", strconv.Itoa(resPort), "--log-level", "warn",
			"--auth-server", fmt.Sprintf("http://localhost:%d", authPort))
		res.Env = append(os.Environ(), "XDG_STATE_HOME="+b.TempDir(), "TMCP_RESOURCE_CLIENT_SECRET=bench-resource-secret")
		if err := res.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = res.Process.Signal(syscall.SIGINT); _ = res.Wait() })
		waitUp(b, fmt.Sprintf("http://localhost:%d/healthz", resPort))
		time.Sleep(time.Second)
		authRSS, resRSS := procMemKB(auth.Process.Pid, "VmRSS"), procMemKB(res.Process.Pid, "VmRSS")
		var starts []time.Duration
		for j := 0; j < 20; j++ {
			t0 := time.Now()
			if err := exec.Command(testkit.Binary(b), "--help").Run(); err != nil {
				b.Fatal(err)
			}
			starts = append(starts, time.Since(t0))
		}
		med := percentile(starts, 0.5)
		b.ReportMetric(float64(authRSS)/1024, "auth_idle_MiB")
		b.ReportMetric(float64(resRSS)/1024, "resource_idle_MiB")
		b.ReportMetric(float64(med.Microseconds())/1000, "help_ms")
		fmt.Printf("idle RSS           serve auth %.1f MiB  serve resource %.1f MiB;  tmcp --help median %v\n",
			float64(authRSS)/1024, float64(resRSS)/1024, med.Round(100*time.Microsecond))
	}
}

// introspectOp is one authenticated introspection of the token in form
// at u, which must answer active.
func introspectOp(hc *http.Client, u, form, id, secret string) func(int) error {
	return func(int) error {
		req, _ := http.NewRequest(http.MethodPost, u, strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		var out map[string]any
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err == nil && out["active"] != true {
			err = fmt.Errorf("inactive")
		}
		return err
	}
}

// BenchmarkIntrospectMillionTokens: /introspect with a million live tokens
// in the SQLite store, against a second stack whose store is empty (the
// hot lookups search a table of that size). It runs last: the million rows' writes
// must not slow the benchmarks measured after them.
func BenchmarkIntrospectMillionTokens(b *testing.B) {
	// Two stacks side by side, one filled: measured in turn over six
	// rounds, so the machine's drift hits both alike.
	stackOp := func() (*testkit.Stack, string, func(int) error) {
		stack := testkit.StartStack(b, testkit.AuthOptions{Resource: true})
		token := stack.AccessToken(b, "read")
		hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
		return stack, token, introspectOp(hc, stack.Auth.URL()+"/introspect", url.Values{"token": {token}}.Encode(),
			testkit.ResourceClientID, testkit.ResourceSecret)
	}
	for i := 0; i < b.N; i++ {
		_, _, emptyOp := stackOp()
		stack, token, fullOp := stackOp()
		start := time.Now()
		fillTokens(b, stack, token, 1_000_000)
		filled := time.Since(start)
		interleaved(b, 1, time.Second, emptyOp, fullOp) // warm up: connections, caches, CPU clock
		rounds := inRounds(b, workers, 6, time.Second, emptyOp, fullOp)
		rates, ratio := meanRates(rounds), medianRatio(rounds, 1)
		b.ReportMetric(ratio, "ratio_to_empty")
		fmt.Printf("introspect, 1M live tokens %8.0f/s  empty store %8.0f/s  ratio %.2f  (median of 6 rounds; filled in %s)\n",
			rates[1], rates[0], ratio, filled.Round(time.Second))
	}
}
