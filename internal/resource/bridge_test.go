package resource_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// modernAnswer is a 2026-07-28 answer as the tests read it.
type modernAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result map[string]any  `json:"result"`
	Error  *struct {
		Code    int            `json:"code"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	} `json:"error"`
}

// modern sends one 2026-07-28 request as a pinned client does: no
// session, its version and capabilities in _meta, its method and target
// in headers.
func modern(t *testing.T, mcpURL, token, version, method, tool string) (*http.Response, modernAnswer) {
	t.Helper()
	params := `"_meta":{"io.modelcontextprotocol/protocolVersion":"` + version + `","io.modelcontextprotocol/clientCapabilities":{"sampling":{}}}`
	if tool != "" {
		params = fmt.Sprintf(`"name":%q,"arguments":{},`, tool) + params
	}
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":%q,"params":{%s}}`, method, params)
	req := testkit.MCPRequest(t, http.MethodPost, mcpURL, token, "", strings.NewReader(body))
	req.Header.Set("Mcp-Protocol-Version", version)
	req.Header.Set("Mcp-Method", method)
	if tool != "" {
		req.Header.Set("Mcp-Name", tool)
	}
	resp := testkit.Send(t, req)
	raw, _ := io.ReadAll(resp.Body)
	var a modernAnswer
	if err := json.Unmarshal(raw, &a); err != nil {
		t.Fatalf("%s: %d %s", method, resp.StatusCode, raw)
	}
	return resp, a
}

// text is the text of a tools/call result.
func text(a modernAnswer) string {
	content, _ := a.Result["content"].([]any)
	if len(content) == 0 {
		return ""
	}
	s, _ := content[0].(map[string]any)["text"].(string)
	return s
}

func pidOf(who string) string { return who[strings.LastIndex(who, " ")+1:] }

// A 2026-07-28 client in front of a stdio server: server/discover is
// answered from the server's initialize result, results carry what the
// revision requires, and the client's requests share one backend process
// per user and client, started with that user's identity; another client
// of the same user gets its own.
func TestBridge_ModernRequestsShareOneBackendSessionPerUserAndClient(t *testing.T) {
	t.Parallel()
	stack, c, tok := stdioStack(t, nil)
	mcpURL := stack.Resource.URL()
	resp, d := modern(t, mcpURL, tok, "2026-07-28", "server/discover", "")
	if resp.StatusCode != http.StatusOK || d.Result["resultType"] != "complete" || d.Result["instructions"] != "notes for tests" ||
		fmt.Sprint(d.Result["supportedVersions"]) != "[2026-07-28]" || d.Result["capabilities"].(map[string]any)["tools"] == nil {
		t.Fatalf("server/discover: %d %+v", resp.StatusCode, d)
	}
	if info, _ := d.Result["_meta"].(map[string]any)["io.modelcontextprotocol/serverInfo"].(map[string]any); info["name"] != "stdio-notes" {
		t.Fatalf("server/discover names the server %v", d.Result["_meta"])
	}
	_, list := modern(t, mcpURL, tok, "2026-07-28", "tools/list", "")
	if list.Result["resultType"] != "complete" || list.Result["cacheScope"] != "private" || list.Result["ttlMs"] != float64(0) || string(list.ID) != "1" {
		t.Fatalf("tools/list: %+v", list)
	}
	_, first := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	_, again := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	if !strings.HasPrefix(text(first), "user-demo@example.com via "+c.ClientID+" with read in ") || first.Result["resultType"] != "complete" {
		t.Fatalf("who: %+v", first)
	}
	if pidOf(text(first)) != pidOf(text(again)) {
		t.Fatalf("one client's requests ran in processes %s and %s", pidOf(text(first)), pidOf(text(again)))
	}
	other := stack.PublicClient(t)
	other.Resource = c.Resource
	_, theirs := modern(t, mcpURL, token(t, other, "read"), "2026-07-28", "tools/call", "who")
	if !strings.Contains(text(theirs), "via "+other.ClientID+" ") || pidOf(text(theirs)) == pidOf(text(first)) {
		t.Fatalf("another client: %q (first client's: %q)", text(theirs), text(first))
	}
}

// A revision the gateway does not serve is answered -32022 with the
// versions it does (2026-07-28 "Version Negotiation").
func TestBridge_UnsupportedVersionAnswersMinus32022(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, nil)
	resp, a := modern(t, stack.Resource.URL(), tok, "2099-01-01", "tools/list", "")
	if resp.StatusCode != http.StatusBadRequest || a.Error == nil || a.Error.Code != -32022 ||
		fmt.Sprint(a.Error.Data["supported"]) != "[2026-07-28]" || a.Error.Data["requested"] != "2099-01-01" || string(a.ID) != "1" {
		t.Fatalf("an unknown revision: %d %+v", resp.StatusCode, a.Error)
	}
}

// A backend process that ends fails the request it was running; the
// next request opens a new one, without the client doing anything.
func TestBridge_EndedBackendSessionReopensTransparently(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, nil)
	mcpURL := stack.Resource.URL()
	_, before := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	if _, crash := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "crash"); crash.Error == nil || string(crash.ID) != "1" {
		t.Fatalf("the call that ended its process: %+v", crash)
	}
	var after modernAnswer
	waitUntil(t, func() bool {
		_, after = modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
		return after.Error == nil
	})
	if pidOf(text(after)) == pidOf(text(before)) || text(after) == "" {
		t.Fatalf("after the crash: %q, before %q", text(after), text(before))
	}
}

// Backend sessions of 2026-07-28 clients count against the session caps
// like sessions clients open: over --max-sessions, 503 with Retry-After.
// One idle past --session-idle-ttl ends, and the next request opens
// another.
func TestBridge_BackendSessionsBoundedByCapsAndIdleTTL(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	logs := &testkit.LogBuffer{}
	stack, c, tok := stdioStack(t, func(cfg *resource.Config) {
		cfg.Sessions.Max, cfg.SessionIdleTTL, cfg.Now, cfg.Logger = 2, time.Minute, clock.Now, testkit.Logger(logs)
	})
	mcpURL := stack.Resource.URL()
	initialize(t, mcpURL, tok) // a 2025 client's session
	_, first := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	other := stack.PublicClient(t)
	other.Resource = c.Resource
	resp, refused := modern(t, mcpURL, token(t, other, "read"), "2026-07-28", "tools/call", "who")
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || refused.Error == nil {
		t.Fatalf("a third session over --max-sessions 2: %d %+v", resp.StatusCode, refused)
	}
	// A request's end counts as use and may be marked just after its
	// answer reached the client: advance past the idle TTL until it has.
	var after modernAnswer
	waitUntil(t, func() bool {
		clock.Advance(2 * time.Minute)
		_, after = modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
		return text(after) != "" && pidOf(text(after)) != pidOf(text(first))
	})
	waitUntil(t, func() bool { return strings.Count(logs.String(), "MCP server process ended") >= 1 })
}

// A request the backend makes of the client (sampling here) has no one
// to go to: it is refused at once with a clear error, so the call that
// made it answers rather than waiting out the timeout.
func TestBridge_BackendRequestsToTheClientRefusedAtOnce(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, func(c *resource.Config) { c.Command = []string{os.Args[0], "stdio-asking-server"} })
	_, a := modern(t, stack.Resource.URL(), tok, "2026-07-28", "tools/call", "ask")
	if !strings.Contains(text(a), `"id":"ask-1","error":{"code":-32601`) || !strings.Contains(text(a), "cannot take sampling/createMessage requests from the server") {
		t.Fatalf("a tool asking the client for sampling: %+v", a)
	}
}

// Instances of one client share its backend session, and their request
// ids may be the same: each gets its own answer.
func TestBridge_SameIDsFromOneClientEachAnswered(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, nil)
	mcpURL := stack.Resource.URL()
	modern(t, mcpURL, tok, "2026-07-28", "tools/list", "") // opens the session
	var wg sync.WaitGroup
	answers := make([]modernAnswer, 4)
	for i := range answers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, answers[i] = modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
		}()
	}
	wg.Wait()
	for i, a := range answers {
		if text(a) == "" || string(a.ID) != "1" {
			t.Fatalf("request %d (id 1): %+v", i, a)
		}
	}
}

// 2026-07-28 has no session to stream or end: a GET or DELETE of that
// revision without a session is 405, not a 404 that sends the client to
// open one.
func TestBridge_GetAndDeleteOfTheStatelessRevisionAre405(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, nil)
	for _, method := range []string{http.MethodGet, http.MethodDelete} {
		req := testkit.MCPRequest(t, method, stack.Resource.URL(), tok, "", nil)
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		if resp := testkit.Send(t, req); resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") == "" {
			t.Errorf("%s of 2026-07-28: %d (Allow %q), want 405", method, resp.StatusCode, resp.Header.Get("Allow"))
		}
	}
}

// legacyHTTPServer is a 2025-11-25 Streamable HTTP server that knows
// nothing of 2026-07-28: initialize opens a session (Mcp-Session-Id),
// anything else needs one (400 without, 404 for one it forgot); its who
// tool answers with the session and the X-Forwarded-User it got. forget
// drops its sessions, as a restarted server does.
func legacyHTTPServer(t *testing.T) (url string, initializes func() int, forget func()) {
	var mu sync.Mutex
	sessions := map[string]bool{}
	n := 0
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if r.Method != http.MethodPost || json.NewDecoder(r.Body).Decode(&req) != nil {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		id := r.Header.Get("Mcp-Session-Id")
		switch {
		case req.Method == "initialize":
			n++
			id = fmt.Sprintf("legacy-%d", n)
			sessions[id] = true
			w.Header().Set("Mcp-Session-Id", id)
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{},"tasks":{}},"serverInfo":{"name":"legacy","version":"1"}}}`, req.ID)
			return
		case id == "":
			http.Error(w, "Bad Request: Mcp-Session-Id header is required", http.StatusBadRequest)
			return
		case !sessions[id]:
			http.Error(w, "session not found", http.StatusNotFound)
			return
		case req.ID == nil:
			w.WriteHeader(http.StatusAccepted)
			return
		}
		who, _ := json.Marshal(id + " for " + r.Header.Get("X-Forwarded-User") + " via " + r.Header.Get("X-Forwarded-Client-Id"))
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":%s}]}}\n\n", req.ID, who)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp",
		func() int { mu.Lock(); defer mu.Unlock(); return n },
		func() { mu.Lock(); defer mu.Unlock(); clear(sessions) }
}

// A 2026-07-28 client in front of a 2025 Streamable HTTP server: tmcp
// opens a backend session for each user and client, keeps its
// Mcp-Session-Id (its capabilities less tasks, deleted in 2026-07-28, in
// server/discover), and when the server forgets it (404) opens another
// without the client seeing anything.
func TestBridge_LegacyHTTPServerSessionKeptPerUserAndClient(t *testing.T) {
	t.Parallel()
	backend, initializes, forget := legacyHTTPServer(t)
	stack, c, tok := gatewayStack(t, backend, nil, "read")
	mcpURL := stack.Resource.URL()
	_, d := modern(t, mcpURL, tok, "2026-07-28", "server/discover", "")
	if caps := d.Result["capabilities"].(map[string]any); caps["tools"] == nil || caps["tasks"] != nil || d.Result["resultType"] != "complete" {
		t.Fatalf("server/discover: %+v", d)
	}
	_, first := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	_, again := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	if want := "legacy-1 for user-demo@example.com via " + c.ClientID; text(first) != want || text(again) != want || initializes() != 1 {
		t.Fatalf("who: %q then %q after %d initialize, want %q once", text(first), text(again), initializes(), want)
	}
	forget()
	if _, after := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who"); !strings.HasPrefix(text(after), "legacy-2 for ") || after.Error != nil {
		t.Fatalf("after the server forgot the session: %+v", after)
	}
	other := stack.PublicClient(t)
	other.Resource = c.Resource
	if _, theirs := modern(t, mcpURL, token(t, other, "read"), "2026-07-28", "tools/call", "who"); text(theirs) != "legacy-3 for user-demo@example.com via "+other.ClientID {
		t.Fatalf("another client: %+v", theirs)
	}
}

// A server error to the server/discover tmcp asks a Streamable HTTP
// server is a fault, not a sign that the server speaks only 2025: the
// request fails (502), and the next one asks again and finds a strict
// 2026-07-28 server, which gets the requests as they come.
func TestBridge_ServerErrorToDiscoverIsNoVerdict(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	requests := 0
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		requests++
		first := requests == 1
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		switch {
		case first:
			http.Error(w, "starting up", http.StatusServiceUnavailable)
		case req.Method == "server/discover":
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","supportedVersions":["2026-07-28"],"capabilities":{"tools":{}},"ttlMs":0,"cacheScope":"private"}}`, req.ID)
		case req.Method == "tools/call":
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"resultType":"complete","content":[{"type":"text","text":"strict"}]}}`, req.ID)
		default: // initialize: a strict server serves no 2025 client
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"error":{"code":-32022,"message":"unsupported","data":{"supported":["2026-07-28"]}}}`, req.ID)
		}
	}))
	t.Cleanup(backend.Close)
	stack, _, tok := gatewayStack(t, backend.URL+"/mcp", nil, "read")
	if resp, a := modern(t, stack.Resource.URL(), tok, "2026-07-28", "tools/call", "who"); resp.StatusCode != http.StatusBadGateway || a.Error == nil {
		t.Fatalf("while the server answers 503: %d %+v, want 502", resp.StatusCode, a)
	}
	if resp, a := modern(t, stack.Resource.URL(), tok, "2026-07-28", "tools/call", "who"); resp.StatusCode != http.StatusOK || text(a) != "strict" {
		t.Fatalf("once it is up: %d %+v", resp.StatusCode, a)
	}
}

// A call given up on (its client left, or --proxy-timeout passed) is
// cancelled at the backend, under the id the backend knows it by.
func TestBridge_CallGivenUpIsCancelledAtTheBackend(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	stack, _, tok := stdioStack(t, func(c *resource.Config) {
		c.Command, c.Logger = []string{os.Args[0], "stdio-asking-server"}, testkit.Logger(logs)
	})
	modern(t, stack.Resource.URL(), tok, "2026-07-28", "tools/list", "") // opens the session
	body := `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"slow","arguments":{},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`
	req := testkit.MCPRequest(t, http.MethodPost, stack.Resource.URL(), tok, "", strings.NewReader(body))
	req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
	req.Header.Set("Mcp-Method", "tools/call")
	req.Header.Set("Mcp-Name", "slow")
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Do(req); err == nil {
		resp.Body.Close()
		t.Fatalf("the slow call answered %d", resp.StatusCode)
	}
	waitUntil(t, func() bool {
		return strings.Contains(logs.String(), `cancelled \"tmcp-`) || strings.Contains(logs.String(), `cancelled "tmcp-`)
	})
}

// What a backend said of itself when it opened one user and client's
// session (its instructions may be computed from who they are) answers
// server/discover for that user and client only: another client, or
// another user, gets what the backend says to them.
func TestBridge_DiscoverAnsweredFromTheCallersOwnSession(t *testing.T) {
	t.Parallel()
	stack, c, tok := stdioStack(t, func(c *resource.Config) { c.Command = []string{os.Args[0], "stdio-greeting-server"} })
	mcpURL := stack.Resource.URL()
	if _, d := modern(t, mcpURL, tok, "2026-07-28", "server/discover", ""); d.Result["instructions"] != "for user-demo@example.com via "+c.ClientID {
		t.Fatalf("the first client's server/discover: %+v", d)
	}
	other := stack.PublicClient(t)
	other.Resource = c.Resource
	if _, d := modern(t, mcpURL, token(t, other, "read"), "2026-07-28", "server/discover", ""); d.Result["instructions"] != "for user-demo@example.com via "+other.ClientID {
		t.Fatalf("another client's server/discover: %+v, want its own instructions", d.Result["instructions"])
	}
}

// MCP 2026-07-28 has no initialize: one sent the way of that revision is
// answered as a method the server lacks, and never reaches the backend
// session the client's instances share, whose opening is tmcp's (a 2025
// server would take it and open the session anew on the client's terms).
func TestBridge_ModernInitializeNeverReachesTheBackendSession(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, func(c *resource.Config) { c.Command = []string{os.Args[0], "stdio-asking-server"} })
	mcpURL := stack.Resource.URL()
	modern(t, mcpURL, tok, "2026-07-28", "server/discover", "") // opens the session
	if resp, a := modern(t, mcpURL, tok, "2026-07-28", "initialize", ""); a.Error == nil || a.Error.Code != -32601 || string(a.ID) != "1" {
		t.Fatalf("initialize of 2026-07-28: %d %+v", resp.StatusCode, a)
	}
}

// A process that answers with a line longer than --max-message-size
// fails that call at once with a JSON-RPC error, rather than leaving
// every request of its user and client to wait out --proxy-timeout.
func TestBridge_AnOverlongAnswerFailsItsCallAtOnce(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	stack, _, tok := stdioStack(t, func(c *resource.Config) {
		c.Command, c.Logger = []string{os.Args[0], "stdio-flooding-server"}, testkit.Logger(logs)
	})
	mcpURL := stack.Resource.URL()
	resp, a := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "flood")
	if a.Error == nil || !strings.Contains(a.Error.Message, "--max-message-size") {
		t.Fatalf("the call answered with an overlong line: %d %+v, want a JSON-RPC error naming --max-message-size", resp.StatusCode, a)
	}
	waitUntil(t, func() bool { return strings.Contains(logs.String(), "over --max-message-size") })
}

// A 2025 Streamable HTTP server may keep a POST's event stream open after
// its answer (2025-11-25 only says it SHOULD close it): the call is
// answered when its answer comes, not when the stream ends or
// --proxy-timeout passes.
func TestBridge_AnswerOnAStreamLeftOpenIsTakenAtOnce(t *testing.T) {
	t.Parallel()
	backend := legacyBackend(t, "open-streams", func(w http.ResponseWriter, r *http.Request, id json.RawMessage) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprintf(w, "event: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"content\":[{\"type\":\"text\",\"text\":\"answered\"}]}}\n\n", id)
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the stream stays open
	})
	stack, _, tok := gatewayStack(t, backend.URL+"/mcp", nil, "read")
	if resp, a := modern(t, stack.Resource.URL(), tok, "2026-07-28", "tools/call", "who"); resp.StatusCode != http.StatusOK || text(a) != "answered" {
		t.Fatalf("a call answered on a stream left open: %d %+v", resp.StatusCode, a)
	}
}

// The backend session of a user and client outlives their token: each
// message on it says who sends it as of the request it is sent for, so
// a token with other scopes (a step-up, or scopes taken away) is what the
// server learns, not the token the session was opened with.
func TestBridge_IdentityHeadersAreThoseOfEachRequest(t *testing.T) {
	t.Parallel()
	backend := legacyBackend(t, "scopes", func(w http.ResponseWriter, r *http.Request, id json.RawMessage) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":%q}]}}`, id, r.Header.Get("X-Forwarded-Scopes"))
	})
	stack, c, tok := gatewayStack(t, backend.URL+"/mcp", nil, "read")
	if _, a := modern(t, stack.Resource.URL(), tok, "2026-07-28", "tools/call", "who"); text(a) != "read" {
		t.Fatalf("with a read token: %+v", a)
	}
	if _, a := modern(t, stack.Resource.URL(), token(t, c, "read write"), "2026-07-28", "tools/call", "who"); text(a) != "read write" {
		t.Fatalf("with a read write token, the server was told %q", text(a))
	}
}

// A stdio process learns who its user is once, from its environment: a
// later token of the same user and client with other scopes (a step-up,
// or scopes taken away) gets a process started with those, never the
// process told of the scopes the user had before.
func TestBridge_ProcessStartedForTheScopesOfTheToken(t *testing.T) {
	t.Parallel()
	stack, c, tok := stdioStack(t, nil)
	mcpURL := stack.Resource.URL()
	_, before := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	if !strings.Contains(text(before), " with read in ") {
		t.Fatalf("with a read token: %+v", before)
	}
	_, after := modern(t, mcpURL, token(t, c, "read write"), "2026-07-28", "tools/call", "who")
	if !strings.Contains(text(after), " with read write in ") {
		t.Fatalf("with a read write token, the process says %q", text(after))
	}
}

// legacyBackend is a 2025 Streamable HTTP server: it refuses
// server/discover, opens session sessionID on initialize, accepts
// notifications, and hands every other request to answer with its id.
func legacyBackend(t *testing.T, sessionID string, answer func(w http.ResponseWriter, r *http.Request, id json.RawMessage)) *httptest.Server {
	t.Helper()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.NewDecoder(r.Body).Decode(&req) != nil || req.Method == "server/discover" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		w.Header().Set("Mcp-Session-Id", sessionID)
		switch {
		case req.Method == "initialize":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":%q,"version":"1"}}}`, req.ID, sessionID)
		case req.ID == nil:
			w.WriteHeader(http.StatusAccepted)
		default:
			answer(w, r, req.ID)
		}
	}))
	t.Cleanup(backend.Close)
	return backend
}
