package resource_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
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
	clock.Advance(2 * time.Minute)
	_, after := modern(t, mcpURL, tok, "2026-07-28", "tools/call", "who")
	if text(after) == "" || pidOf(text(after)) == pidOf(text(first)) {
		t.Fatalf("after idling: %q, before %q", text(after), text(first))
	}
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
