package resource_test

import (
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// send makes one raw MCP request: method is the HTTP method, rpc the
// JSON-RPC method (POST only), sessionID the Mcp-Session-Id to send.
func send(t *testing.T, mcpURL, token, method, rpc, sessionID string) *http.Response {
	t.Helper()
	var body io.Reader
	if rpc != "" {
		params := "{}"
		if rpc == "initialize" {
			params = `{"protocolVersion":"` + testkit.MCPVersion + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}`
		}
		body = strings.NewReader(fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":%s}`, rpc, params))
	}
	req := testkit.MCPRequest(t, method, mcpURL, token, sessionID, body)
	if method == http.MethodGet {
		req.Header.Set("Accept", "text/event-stream")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	resp, err := client.Do(req)
	if err != nil {
		if strings.Contains(err.Error(), "Client.Timeout") { // an open GET stream: it was accepted
			return &http.Response{StatusCode: http.StatusOK, Body: http.NoBody}
		}
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func initialize(t *testing.T, mcpURL, token string) string {
	t.Helper()
	resp := send(t, mcpURL, token, http.MethodPost, "initialize", "")
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, id)
	}
	return id
}

// A session belongs to the user and client whose token opened it: another
// token naming it gets 404 (the session's existence is not revealed), as
// does an id never issued; its owner goes on using it.
func TestSecurity_SessionsBoundToTheirUser(t *testing.T) {
	t.Parallel()
	stack, victim, victimToken := full(t, testkit.AuthOptions{}, "read")
	sessionsBound(t, stack, victim, victimToken)
}

// sessionsBound checks that the session victimToken opens on stack's MCP
// server is the victim's alone, through its end.
func sessionsBound(t *testing.T, stack *testkit.Stack, victim *testkit.OAuthClient, victimToken string) {
	t.Helper()
	other := stack.PublicClient(t)
	other.Resource = victim.Resource
	otherToken := token(t, other, "read")
	mcpURL := stack.Resource.URL()
	id := initialize(t, mcpURL, victimToken)

	for _, c := range []struct {
		name, method, rpc string
	}{{"tools/list", http.MethodPost, "tools/list"}, {"logging/setLevel", http.MethodPost, "logging/setLevel"},
		{"GET stream", http.MethodGet, ""}, {"DELETE", http.MethodDelete, ""}} {
		if resp := send(t, mcpURL, otherToken, c.method, c.rpc, id); resp.StatusCode != http.StatusNotFound {
			t.Errorf("another user's token on the session, %s: %d, want 404", c.name, resp.StatusCode)
		}
	}
	if resp := send(t, mcpURL, victimToken, http.MethodPost, "tools/list", "mcp-session-00000000-0000-4000-8000-000000000000"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("a session id never issued: %d, want 404", resp.StatusCode)
	}
	if resp := send(t, mcpURL, victimToken, http.MethodPost, "tools/list", id); resp.StatusCode != http.StatusOK {
		t.Fatalf("the owner on its session: %d", resp.StatusCode)
	}
	if resp := send(t, mcpURL, victimToken, http.MethodDelete, "", id); resp.StatusCode != http.StatusOK {
		t.Fatalf("the owner ends its session: %d", resp.StatusCode)
	}
	if resp := send(t, mcpURL, victimToken, http.MethodPost, "tools/list", id); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an ended session: %d, want 404", resp.StatusCode)
	}
}

// Legacy SSE: a second user cannot post into the victim's stream.
func TestSecurity_SSESessionsBoundToTheirUser(t *testing.T) {
	t.Parallel()
	stack, victim, victimToken := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.Transport = resource.TransportSSE }}, "read")
	other := stack.PublicClient(t)
	other.Resource = victim.Resource
	otherToken := token(t, other, "read")

	req, _ := http.NewRequest(http.MethodGet, stack.Resource.URL(), nil)
	req.Header.Set("Authorization", "Bearer "+victimToken)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	buf := make([]byte, 512)
	n, _ := resp.Body.Read(buf)
	_, endpoint, ok := strings.Cut(string(buf[:n]), "data: ")
	if !ok {
		t.Fatalf("no endpoint event: %q", buf[:n])
	}
	endpoint = strings.TrimSpace(strings.SplitN(endpoint, "\n", 2)[0])
	post := func(tok string) int {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if got := post(otherToken); got != http.StatusNotFound {
		t.Fatalf("another user's message into the victim's stream: %d, want 404", got)
	}
	if got := post(victimToken); got != http.StatusAccepted {
		t.Fatalf("the owner's message: %d, want 202", got)
	}
}

// MCP transport: an expired session answers 404, so the client starts a
// new one; past the caps a new session gets 503 with Retry-After.
func TestSessions_IdleExpiryAndCaps(t *testing.T) {
	t.Parallel()
	var clock atomic.Int64
	clock.Store(time.Now().UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.SessionIdleTTL, c.Sessions, c.Now = time.Minute, resource.SessionLimits{PerClient: 2}, now
	}}, "read")
	mcpURL := stack.Resource.URL()
	a, b := initialize(t, mcpURL, tok), initialize(t, mcpURL, tok)
	resp := send(t, mcpURL, tok, http.MethodPost, "initialize", "")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("a third session for one user: %d (Retry-After %q), want 503", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	clock.Add(int64(30 * time.Second))
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", a); resp.StatusCode != http.StatusOK {
		t.Fatalf("a session used within its idle time: %d", resp.StatusCode)
	}
	clock.Add(int64(45 * time.Second)) // b idle 75s, a idle 45s
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", b); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("an idle session: %d, want 404", resp.StatusCode)
	}
	initialize(t, mcpURL, tok) // b's place is free again
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", a); resp.StatusCode != http.StatusOK {
		t.Fatalf("the live session: %d", resp.StatusCode)
	}
}

func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// A flood of sessions never closed holds memory only until they idle out.
func TestSessions_FloodReturnsMemoryAfterTheTTL(t *testing.T) {
	if testing.Short() {
		t.Skip("floods the server")
	}
	// The idle TTL must outlast the flood itself, which under -race on a
	// loaded machine takes seconds: sessions must not idle out mid-flood.
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.SessionIdleTTL, c.Sessions = 10*time.Second, resource.SessionLimits{}
	}}, "read")
	mcpURL := stack.Resource.URL()
	initialize(t, mcpURL, tok) // warm up
	idle := heapInUse()
	const n = 5000
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(
				`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"flood","version":"1"}}}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			req.Header.Set("Authorization", "Bearer "+tok)
			if resp, err := http.DefaultClient.Do(req); err == nil {
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	flooded := heapInUse()
	deadline := time.Now().Add(30 * time.Second)
	var after uint64
	for time.Now().Before(deadline) {
		time.Sleep(time.Second)
		if after = heapInUse(); after < idle+(flooded-idle)/5 {
			break
		}
	}
	t.Logf("heap in use: idle %d KiB, after %d sessions %d KiB, after the idle TTL %d KiB", idle>>10, n, flooded>>10, after>>10)
	if flooded < idle+n*2<<10 {
		t.Fatalf("the flood held only %d KiB: the test does not measure what it should", (flooded-idle)>>10)
	}
	if after >= idle+(flooded-idle)/5 {
		t.Fatalf("heap did not return to idle after the TTL: idle %d KiB, flooded %d KiB, after %d KiB", idle>>10, flooded>>10, after>>10)
	}
}

// A request from an origin the server does not allow is refused (403),
// not run with only the CORS headers left off; "scheme://host:*" allows
// any port, as the default does for loopback clients.
func TestSecurity_DisallowedOriginIsRefused(t *testing.T) {
	t.Parallel()
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.AllowedOrigins = []string{"https://app.example", "http://localhost:*"}
	}}, "read")
	for _, c := range []struct {
		origin string
		want   int
	}{{"https://evil.example", http.StatusForbidden}, {"http://localhost:6274", http.StatusOK}, {"https://app.example", http.StatusOK},
		{"http://localhost:6274.evil.example", http.StatusForbidden}, {"", http.StatusOK}} {
		req, _ := http.NewRequest(http.MethodPost, stack.Resource.URL(), strings.NewReader(
			`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+tok)
		if c.origin != "" {
			req.Header.Set("Origin", c.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("Origin %q: %d, want %d", c.origin, resp.StatusCode, c.want)
		}
	}
}
