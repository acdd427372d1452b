package resource_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/gateway"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// gatewayStack runs the sandbox, the auth server and `serve resource
// --proxy backend`, and signs in a client with scope.
func gatewayStack(t *testing.T, backend string, policy []string, scope string) (*testkit.Stack, *testkit.OAuthClient, string) {
	t.Helper()
	rules, err := resource.ParseScopePolicy(policy)
	if err != nil {
		t.Fatal(err)
	}
	return full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy, c.ProxyTimeout, c.ToolPolicy = backend, 2*time.Second, rules
	}}, scope)
}

type headerKey struct{}

// notesBackend is the team's own MCP server, written with mcp-go: its
// tools answer with the identity headers the gateway sent.
func notesBackend(t *testing.T) (*httptest.Server, *sync.Map) {
	t.Helper()
	seen := &sync.Map{} // every header value that arrived, by name
	m := server.NewMCPServer("notes", "1.0.0", server.WithToolCapabilities(false))
	whoami := func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		h, _ := ctx.Value(headerKey{}).(http.Header)
		return mcp.NewToolResultText(h.Get(gateway.HeaderUser) + " via " + h.Get(gateway.HeaderClientID) + " with " + h.Get(gateway.HeaderScopes)), nil
	}
	m.AddTool(mcp.NewTool("whoami_here", mcp.WithDescription("who the gateway says is calling")), whoami)
	m.AddTool(mcp.NewTool("delete_note", mcp.WithDescription("needs write")), whoami)
	h := server.NewStreamableHTTPServer(m, server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
		for name, values := range r.Header {
			seen.Store(name, strings.Join(values, ","))
		}
		return context.WithValue(ctx, headerKey{}, r.Header.Clone())
	}))
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv, seen
}

// The gateway puts tmcp's sign-in in front of another MCP server: its
// tools answer only with a token, learn who calls from headers the client
// cannot forge, and never see the MCP client's token.
func TestGateway_PassesIdentityNeverTheToken(t *testing.T) {
	t.Parallel()
	backend, seen := notesBackend(t)
	stack, c, tok := gatewayStack(t, backend.URL+"/mcp", []string{"delete_*=write"}, "read")
	mcpURL := stack.Resource.URL()

	if resp := rawCall(t, mcpURL, "", "whoami_here"); resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
		t.Fatalf("without a token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	mc, err := testkit.MCP(t, mcpURL, tok, "2025-06-18", false)
	if err != nil {
		t.Fatal(err)
	}
	_, text := testkit.CallTool(t, mc, "whoami_here", nil)
	if want := "user-demo@example.com via " + c.ClientID + " with read"; text != want {
		t.Fatalf("the backend saw %q, want %q", text, want)
	}

	// Forged identity headers from the client are replaced.
	id := initialize(t, mcpURL, tok)
	resp := rawCall(t, mcpURL, tok, "whoami_here", "Mcp-Session-Id", id, "Mcp-Protocol-Version", "2025-11-25",
		gateway.HeaderUser, "admin", gateway.HeaderScopes, "admin write")
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || strings.Contains(string(body), "admin") || !strings.Contains(string(body), "user-demo@example.com") {
		t.Fatalf("forged identity headers: %d %s", resp.StatusCode, body)
	}

	// The tool policy: delete_* needs write, which this token lacks.
	resp = rawCall(t, mcpURL, tok, "delete_note")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `scope="read write"`) {
		t.Fatalf("delete_note with a read token: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}

	seen.Range(func(name, value any) bool {
		if strings.Contains(value.(string), "tmcp_at_") || strings.Contains(value.(string), tok) {
			t.Errorf("the backend received the MCP token in %s", name)
		}
		return true
	})
	if _, ok := seen.Load("Authorization"); ok {
		t.Error("the backend received an Authorization header")
	}
	if email, _ := seen.Load(gateway.HeaderEmail); email != "demo@example.com" {
		t.Errorf("%s = %v", gateway.HeaderEmail, email)
	}
}

// A session the backend opened belongs to the user who opened it, as the
// built-in server's do: another user's token naming it gets 404.
func TestGateway_SessionsBoundToTheirUser(t *testing.T) {
	t.Parallel()
	backend, _ := notesBackend(t)
	stack, victim, victimToken := gatewayStack(t, backend.URL+"/mcp", nil, "read")
	sessionsBound(t, stack, victim, victimToken)
}

// A backend that is down or too slow gets a JSON-RPC error with a clear
// message, 502 or 504, within the timeout; /readyz says so.
func TestGateway_BackendDownOrSlow(t *testing.T) {
	t.Parallel()
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body) // then the server notices the gateway hanging up
		select {
		case <-r.Context().Done():
		case <-time.After(10 * time.Second):
		}
	}))
	t.Cleanup(slow.Close)
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()

	for _, c := range []struct {
		name, backend string
		status        int
		says          string
	}{{"down", downURL, http.StatusBadGateway, "not reachable"}, {"slow", slow.URL, http.StatusGatewayTimeout, "did not answer within 2s"}} {
		t.Run(c.name, func(t *testing.T) {
			stack, _, tok := gatewayStack(t, c.backend+"/mcp", nil, "read")
			start := time.Now()
			resp := rawCall(t, stack.Resource.URL(), tok, "anything")
			var rpc struct {
				Error struct {
					Message string `json:"message"`
				} `json:"error"`
			}
			_ = json.NewDecoder(resp.Body).Decode(&rpc)
			if resp.StatusCode != c.status || !strings.Contains(rpc.Error.Message, c.says) || time.Since(start) > 5*time.Second {
				t.Fatalf("%d %q after %s", resp.StatusCode, rpc.Error.Message, time.Since(start))
			}
			if c.name == "down" {
				ready, err := http.Get(strings.TrimSuffix(stack.Resource.URL(), "/mcp") + "/readyz")
				if err != nil {
					t.Fatal(err)
				}
				body, _ := io.ReadAll(ready.Body)
				ready.Body.Close()
				if ready.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "behind this gateway") {
					t.Fatalf("/readyz with the backend down: %d %s", ready.StatusCode, body)
				}
			}
		})
	}
}

// An answer the backend breaks off reaches the client broken off: never
// as a whole answer that is shorter than it says.
func TestGateway_AnAnswerBrokenOffStaysBroken(t *testing.T) {
	t.Parallel()
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		// Chunked, so no length tells the client that more was due.
		buf.WriteString("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
			"1b\r\nevent: message\ndata: {\"json\r\n")
		buf.Flush()
		conn.Close()
	}))
	t.Cleanup(backend.Close)
	stack, _, tok := gatewayStack(t, backend.URL+"/mcp", nil, "read")
	req := testkit.MCPRequest(t, http.MethodPost, stack.Resource.URL(), tok, "",
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return // cut off before the status line: broken, as it should be
	}
	defer resp.Body.Close()
	if body, err := io.ReadAll(resp.Body); err == nil {
		t.Fatalf("%d %q read whole; want the answer cut off", resp.StatusCode, body)
	}
}

// With --forward-taskmanager-token the team's MCP server gets the user's
// TaskManager token, and calls TaskManager's API as the user with it.
func TestGateway_ForwardsTheTaskManagerToken(t *testing.T) {
	t.Parallel()
	var taskManager string
	m := server.NewMCPServer("tasks-backend", "1.0.0")
	m.AddTool(mcp.NewTool("count_my_tasks"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		h, _ := ctx.Value(headerKey{}).(http.Header)
		auth := h.Get("Authorization")
		if strings.Contains(auth, "tmcp_") {
			return mcp.NewToolResultError("received an MCP token"), nil
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, taskManager+"/api/tasks", nil)
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return mcp.NewToolResultText(fmt.Sprintf("%d %s", resp.StatusCode, body)), nil
	})
	backend := httptest.NewServer(server.NewStreamableHTTPServer(m, server.WithStateLess(true),
		server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
			return context.WithValue(ctx, headerKey{}, r.Header.Clone())
		})))
	t.Cleanup(backend.Close)

	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy, c.ForwardTaskManagerToken = backend.URL+"/mcp", true
	}}, "read")
	taskManager = stack.Sandbox.URL()
	mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "2025-06-18", false)
	if err != nil {
		t.Fatal(err)
	}
	res, text := testkit.CallTool(t, mc, "count_my_tasks", nil)
	if res.IsError || !strings.HasPrefix(text, "200 ") {
		t.Fatalf("the backend calling TaskManager as the user: %s", text)
	}
}

// stickyBalancer spreads new sessions over gateways in turn and sends
// every request naming a session to the gateway that opened it, as the
// README asks of a load balancer in front of several gateways. With
// sticky off it spreads every request in turn.
func stickyBalancer(t *testing.T, host string, sticky bool, gateways ...string) string {
	t.Helper()
	var mu sync.Mutex
	owner := map[string]int{}
	next := 0
	proxies := make([]*httputil.ReverseProxy, len(gateways))
	for i, g := range gateways {
		target, _ := url.Parse(g)
		proxies[i] = &httputil.ReverseProxy{
			Rewrite: func(pr *httputil.ProxyRequest) { pr.SetURL(target); pr.Out.Host = host },
			ModifyResponse: func(resp *http.Response) error {
				if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
					mu.Lock()
					owner[id] = i
					mu.Unlock()
				}
				return nil
			},
		}
	}
	lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		i, ok := owner[r.Header.Get("Mcp-Session-Id")]
		if !ok || !sticky {
			i, next = next, (next+1)%len(gateways)
		}
		mu.Unlock()
		proxies[i].ServeHTTP(w, r)
	}))
	t.Cleanup(lb.Close)
	return lb.URL + "/mcp"
}

// Several gateways behind a balancer that routes by Mcp-Session-Id: each
// session stays on the gateway that opened it and works; spread without
// stickiness, a session's requests reach a gateway that never saw it.
func TestGateway_SeveralBehindAStickyBalancer(t *testing.T) {
	t.Parallel()
	backend, _ := notesBackend(t)
	var second resource.Config
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy = backend.URL + "/mcp"
		second = *c
	}}, "read")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	second.Listener = ln
	other, err := resource.New(second)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	go other.Run(ctx)

	public, _ := url.Parse(stack.Resource.URL())
	gateways := []string{"http://" + public.Host, "http://" + ln.Addr().String()}
	lb := stickyBalancer(t, public.Host, true, gateways...)
	for range 2 { // one session on each gateway
		mc, err := testkit.MCP(t, lb, tok, "2025-06-18", false)
		if err != nil {
			t.Fatal(err)
		}
		for range 3 {
			if res, text := testkit.CallTool(t, mc, "whoami_here", nil); res.IsError || !strings.HasPrefix(text, "user-demo@example.com") {
				t.Fatalf("through the sticky balancer: %q", text)
			}
		}
	}

	spread := stickyBalancer(t, public.Host, false, gateways...)
	id := initialize(t, spread, tok)
	if resp := send(t, spread, tok, http.MethodPost, "tools/list", id); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("a session's request on the other gateway: %d, want 404", resp.StatusCode)
	}
}

// With --identity-assertion the backend also gets X-Tmcp-Identity: a JWT
// it verifies with the auth server's JWKS alone (go-jose here), for it
// and no one else, living at most five minutes.
func TestGateway_IdentityAssertionVerifiesWithTheJWKS(t *testing.T) {
	t.Parallel()
	backend, seen := notesBackend(t)
	stack, c, tok := full(t, testkit.AuthOptions{MutateResource: func(cfg *resource.Config) {
		cfg.Proxy, cfg.IdentityAssertion = backend.URL+"/mcp", true
	}}, "read")
	mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "2025-06-18", false)
	if err != nil {
		t.Fatal(err)
	}
	testkit.CallTool(t, mc, "whoami_here", nil)
	raw, _ := seen.Load(gateway.HeaderIdentity)
	assertion, _ := raw.(string)
	parsed, err := jwt.ParseSigned(assertion, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		t.Fatalf("X-Tmcp-Identity %q: %v", assertion, err)
	}
	if typ := parsed.Headers[0].ExtraHeaders[jose.HeaderType]; typ != "tmcp-identity+jwt" {
		t.Fatalf("typ = %v", typ)
	}
	resp, err := http.Get(stack.Auth.URL() + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	var set jose.JSONWebKeySet
	err = json.NewDecoder(resp.Body).Decode(&set)
	resp.Body.Close()
	keys := set.Key(parsed.Headers[0].KeyID)
	if err != nil || len(keys) != 1 {
		t.Fatalf("JWKS has no key %q: %v", parsed.Headers[0].KeyID, err)
	}
	var claims jwt.Claims
	var extra struct {
		ClientID string `json:"client_id"`
		Scope    string `json:"scope"`
		Email    string `json:"email"`
	}
	if err := parsed.Claims(keys[0].Key, &claims, &extra); err != nil {
		t.Fatalf("signature: %v", err)
	}
	if err := claims.Validate(jwt.Expected{Issuer: stack.Auth.URL(), AnyAudience: jwt.Audience{backend.URL + "/mcp"}, Time: time.Now()}); err != nil {
		t.Fatalf("claims: %v", err)
	}
	if claims.Subject != "user-demo@example.com" || extra.ClientID != c.ClientID || extra.Scope != "read" || extra.Email != "demo@example.com" {
		t.Fatalf("who: %+v %+v", claims, extra)
	}
	if life := claims.Expiry.Time().Sub(claims.IssuedAt.Time()); life > 5*time.Minute {
		t.Fatalf("the assertion lives %s", life)
	}
	// It is no access token: the MCP server refuses it.
	if resp := rawCall(t, stack.Resource.URL(), assertion, "whoami_here"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the assertion as a bearer token: %d", resp.StatusCode)
	}
}
