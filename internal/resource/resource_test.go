package resource_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/tasktools"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// full starts sandbox, auth and resource servers and signs the demo user
// in with scope; it returns the stack and an access token.
func full(t *testing.T, opts testkit.AuthOptions, scope string) (*testkit.Stack, *testkit.OAuthClient, string) {
	t.Helper()
	opts.Resource = true
	stack := testkit.StartStack(t, opts)
	c := testkit.Discover(t, stack.Auth.URL())
	c.Resource = stack.Resource.URL()
	c.RegisterPublic()
	return stack, c, token(t, c, scope)
}

func token(t *testing.T, c *testkit.OAuthClient, scope string) string {
	t.Helper()
	return c.SignInForTokens(map[string]string{"scope": scope})["access_token"].(string)
}

// rawCall posts a JSON-RPC tools/call without an MCP client, to see the
// HTTP answer itself.
func rawCall(t *testing.T, mcpURL, token, tool string, header ...string) *http.Response {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, tool)
	req := testkit.MCPRequest(t, http.MethodPost, mcpURL, token, "", strings.NewReader(body))
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return testkit.Send(t, req)
}

func prmURL(stack *testkit.Stack) string {
	u, _ := url.Parse(stack.Resource.URL())
	return "http://" + u.Host + "/.well-known/oauth-protected-resource/mcp"
}

func TestChallenges_ByteForByte(t *testing.T) {
	t.Parallel()
	stack, _, readToken := full(t, testkit.AuthOptions{}, "read")
	prm := prmURL(stack)
	cases := []struct {
		name, token, tool string
		status            int
		header            string
	}{
		{"NoToken", "", "whoami", 401, `Bearer resource_metadata="` + prm + `", scope="read"`},
		{"InvalidToken", "tmcp_at_forged", "whoami", 401, `Bearer error="invalid_token", error_description="the access token is invalid, expired, revoked, or for another resource", resource_metadata="` + prm + `", scope="read"`},
		{"InsufficientScope", readToken, "create_task", 403, `Bearer error="insufficient_scope", error_description="this request needs the write scope", resource_metadata="` + prm + `", scope="read write"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := rawCall(t, stack.Resource.URL(), tc.token, tc.tool)
			if resp.StatusCode != tc.status || resp.Header.Get("WWW-Authenticate") != tc.header {
				t.Fatalf("got %d\n%s\nwant %d\n%s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"), tc.status, tc.header)
			}
		})
	}
}

func TestProtectedResourceMetadata(t *testing.T) {
	t.Parallel()
	stack, _, _ := full(t, testkit.AuthOptions{}, "read")
	u, _ := url.Parse(stack.Resource.URL())
	for _, p := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, err := http.Get("http://" + u.Host + p)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want := fmt.Sprintf(`{"resource":"%s","authorization_servers":["%s"],"scopes_supported":["read","write"],"bearer_methods_supported":["header"],"resource_name":"tmcp MCP server",`+
			`"dpop_signing_alg_values_supported":["ES256","ES384","ES512","RS256","PS256","EdDSA"],"dpop_bound_access_tokens_required":false}`,
			stack.Resource.URL(), stack.Auth.URL())
		if resp.StatusCode != 200 || strings.TrimSpace(string(body)) != want {
			t.Fatalf("%s: %d\n%s\nwant\n%s", p, resp.StatusCode, body, want)
		}
	}
}

func TestTools_ScopeRules(t *testing.T) {
	t.Parallel()
	stack, c, readToken := full(t, testkit.AuthOptions{}, "read")
	writeToken := token(t, c, "write")
	both := token(t, c, "read write")
	rules := map[string]map[string]int{ // tool -> token -> HTTP status
		"whoami":      {"read": 200, "write": 200, "both": 200},
		"list_tasks":  {"read": 200, "write": 403, "both": 200},
		"get_task":    {"read": 200, "write": 403, "both": 200},
		"create_task": {"read": 403, "write": 200, "both": 200},
		"update_task": {"read": 403, "write": 200, "both": 200},
		"delete_task": {"read": 403, "write": 200, "both": 200},
	}
	tokens := map[string]string{"read": readToken, "write": writeToken, "both": both}
	for tool, byToken := range rules {
		for name, want := range byToken {
			resp := rawCall(t, stack.Resource.URL(), tokens[name], tool, "Mcp-Protocol-Version", "2025-06-18")
			// 200 here means the HTTP layer let the call through to mcp-go,
			// whatever mcp-go then answers without a session.
			got := resp.StatusCode
			if got != 403 && got != 401 {
				got = 200
			}
			if got != want {
				t.Errorf("%s with a %s token: HTTP %d, want %d", tool, name, resp.StatusCode, want)
			}
		}
	}
}

func TestTools_ActOnTaskManagerAsTheUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var seen []string
	recorder := testkit.Interpose(t)
	recorder.Observe(func(r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/api/tasks") {
			mu.Lock()
			seen = append(seen, r.Header.Get("Authorization"))
			mu.Unlock()
		}
	})
	// Both servers reach TaskManager through the recorder.
	opts := testkit.AuthOptions{
		OnSandbox:      recorder.SetTarget,
		UpstreamURL:    recorder.URL,
		MutateResource: func(cfg *resource.Config) { cfg.TaskManager = recorder.URL },
	}
	stack, _, tok := full(t, opts, "read write")
	for _, version := range []string{"", "2025-06-18", "2025-11-25"} {
		t.Run("protocol "+version, func(t *testing.T) {
			mc, err := testkit.MCP(t, stack.Resource.URL(), tok, version, false)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			res, text := testkit.CallTool(t, mc, "whoami", nil)
			var id tasktools.Identity
			if res.IsError || json.Unmarshal([]byte(text), &id) != nil || id.Username != testkit.DemoEmail || len(id.Scopes) != 2 {
				t.Fatalf("whoami = %v %s", res.IsError, text)
			}
			res, text = testkit.CallTool(t, mc, "create_task", map[string]any{"title": "From MCP v" + version, "description": "d"})
			if res.IsError || !strings.Contains(text, `"title": "From MCP v`+version+`"`) {
				t.Fatalf("create_task = %s", text)
			}
			var created struct{ ID int64 }
			_ = json.Unmarshal([]byte(text), &created)
			res, text = testkit.CallTool(t, mc, "update_task", map[string]any{"id": created.ID, "done": true})
			if res.IsError || !strings.Contains(text, `"done": true`) {
				t.Fatalf("update_task = %s", text)
			}
			res, text = testkit.CallTool(t, mc, "get_task", map[string]any{"id": created.ID})
			if res.IsError || !strings.Contains(text, `"done": true`) {
				t.Fatalf("get_task = %s", text)
			}
			res, text = testkit.CallTool(t, mc, "list_tasks", nil)
			if res.IsError || !strings.Contains(text, "From MCP v"+version) {
				t.Fatalf("list_tasks = %s", text)
			}
			res, _ = testkit.CallTool(t, mc, "delete_task", map[string]any{"id": created.ID})
			if res.IsError {
				t.Fatal("delete_task failed")
			}
			res, text = testkit.CallTool(t, mc, "get_task", map[string]any{"id": created.ID})
			if !res.IsError || text != "TaskManager has no such task" {
				t.Fatalf("get_task of a deleted task = %v %q", res.IsError, text)
			}
			res, text = testkit.CallTool(t, mc, "create_task", map[string]any{"title": strings.Repeat("x", 300)})
			if !res.IsError || !strings.Contains(text, "TaskManager refused the request") {
				t.Fatalf("create_task with a long title = %v %q", res.IsError, text)
			}
			res, text = testkit.CallTool(t, mc, "get_task", map[string]any{"id": -3})
			if !res.IsError || !strings.Contains(text, "positive whole number") {
				t.Fatalf("get_task id -3 = %v %q", res.IsError, text)
			}
		})
	}
	mu.Lock()
	defer mu.Unlock()
	if len(seen) == 0 {
		t.Fatal("TaskManager was never called")
	}
	for _, h := range seen {
		if strings.Contains(h, "tmcp_at_") || !strings.HasPrefix(h, "Bearer tm_at_") {
			t.Fatalf("TaskManager received %q: the MCP token must never be passed through", h[:min(len(h), 14)])
		}
	}
}

func TestSSETransport(t *testing.T) {
	t.Parallel()
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(cfg *resource.Config) { cfg.Transport = resource.TransportSSE }}, "read")
	mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "2025-06-18", true)
	if err != nil {
		t.Fatalf("SSE connect: %v", err)
	}
	if res, text := testkit.CallTool(t, mc, "whoami", nil); res.IsError || !strings.Contains(text, testkit.DemoEmail) {
		t.Fatalf("whoami over SSE = %s", text)
	}
	if _, err := testkit.MCP(t, stack.Resource.URL(), "tmcp_at_forged", "2025-06-18", true); err == nil {
		t.Fatal("SSE accepted a forged token")
	}
}

func TestAudience_TokenForAnotherResourceFails(t *testing.T) {
	t.Parallel()
	stack, c, _ := full(t, testkit.AuthOptions{}, "read")
	c.Resource = "http://localhost:8002/mcp" // the auth server's second resource
	other := token(t, c, "read")
	resp := rawCall(t, stack.Resource.URL(), other, "whoami")
	if resp.StatusCode != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) {
		t.Fatalf("token for another resource: %d %s", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	if _, err := testkit.MCP(t, stack.Resource.URL(), other, "", false); err == nil {
		t.Fatal("an MCP session opened with a token for another resource")
	}
}

func TestRevocation_SeenWithinTheCacheBound(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	stack, c, tok := full(t, testkit.AuthOptions{Now: clock.Now}, "read")
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami", "Mcp-Protocol-Version", "2025-06-18"); resp.StatusCode == 401 {
		t.Fatal("fresh token refused")
	}
	if status, _ := c.Form(c.Meta.RevocationEndpoint, url.Values{"token": {tok}}); status != 200 {
		t.Fatalf("revoke: %d", status)
	}
	// Still cached: the documented trade-off.
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami", "Mcp-Protocol-Version", "2025-06-18"); resp.StatusCode == 401 {
		t.Fatal("the positive cache was not used")
	}
	clock.Advance(31 * time.Second)
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami"); resp.StatusCode != 401 {
		t.Fatalf("revoked token accepted past the cache bound: %d", resp.StatusCode)
	}
}

func TestRevocation_ImmediateWithoutCache(t *testing.T) {
	t.Parallel()
	stack, c, tok := full(t, testkit.AuthOptions{MutateResource: func(cfg *resource.Config) { cfg.CacheTTL = 0 }}, "read")
	rawCall(t, stack.Resource.URL(), tok, "whoami")
	c.Form(c.Meta.RevocationEndpoint, url.Values{"token": {tok}})
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami"); resp.StatusCode != 401 {
		t.Fatalf("revoked token accepted with the cache off: %d", resp.StatusCode)
	}
}

func TestCORSAndHosts(t *testing.T) {
	t.Parallel()
	stack, _, _ := full(t, testkit.AuthOptions{}, "read")
	req, _ := http.NewRequest(http.MethodOptions, stack.Resource.URL(), nil)
	req.Header.Set("Origin", "https://inspector.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://inspector.example" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
	got := rawCall(t, stack.Resource.URL(), "", "whoami", "Origin", "https://inspector.example")
	if got.StatusCode != 401 || !strings.Contains(got.Header.Get("Access-Control-Expose-Headers"), "WWW-Authenticate") {
		t.Fatalf("401 without CORS exposure: %v", got.Header)
	}
	req, _ = http.NewRequest(http.MethodGet, prmURL(stack), nil)
	req.Host = "rebind.evil.example"
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMisdirectedRequest {
		t.Fatalf("foreign Host: %d, want 421", resp.StatusCode)
	}
	u, _ := url.Parse(stack.Resource.URL())
	_, port, _ := strings.Cut(u.Host, ":")
	req, _ = http.NewRequest(http.MethodGet, prmURL(stack), nil)
	req.Host = "localhost:" + port
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("localhost Host: %d", resp.StatusCode)
	}
}

func TestAuthServerDown_Answers503(t *testing.T) {
	t.Parallel()
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(cfg *resource.Config) { cfg.AuthServerURL = "http://127.0.0.1:1" }}, "read")
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami"); resp.StatusCode != 503 {
		t.Fatalf("auth server down: %d, want 503", resp.StatusCode)
	}
}
