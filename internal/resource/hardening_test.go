package resource_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/confcheck"
	"github.com/tmcp-dev/tmcp/internal/gateway"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// jtiOf is the jti of an identity assertion, unverified (the signature
// is TestGateway_IdentityAssertionVerifiesWithTheJWKS's).
func jtiOf(t *testing.T, assertion string) string {
	t.Helper()
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", assertion)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct {
		ID       string `json:"jti"`
		Resource string `json:"resource"`
	}
	if err != nil || json.Unmarshal(raw, &c) != nil || c.ID == "" {
		t.Fatalf("claims %s: %v", raw, err)
	}
	return c.ID
}

// An identity assertion is never replayed across backend sessions: each
// request outside a session gets its own jti, each session its own.
func TestGateway_IdentityAssertionOnePerRequestOrSession(t *testing.T) {
	t.Parallel()
	backend, seen := notesBackend(t)
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(cfg *resource.Config) {
		cfg.Proxy, cfg.IdentityAssertion = backend.URL+"/mcp", true
	}}, "read")
	mcpURL := stack.Resource.URL()
	last := func() string {
		raw, _ := seen.Load(gateway.HeaderIdentity)
		return jtiOf(t, raw.(string))
	}
	a := initialize(t, mcpURL, tok)
	openA := last()
	send(t, mcpURL, tok, http.MethodPost, "tools/list", a)
	inA := last()
	send(t, mcpURL, tok, http.MethodPost, "tools/list", a)
	if again := last(); again != inA {
		t.Fatalf("two requests of one session carried %s and %s", inA, again)
	}
	b := initialize(t, mcpURL, tok)
	openB := last()
	send(t, mcpURL, tok, http.MethodPost, "tools/list", b)
	inB := last()
	if openA == openB || inA == inB || openA == inA {
		t.Fatalf("assertions reused: opening %s %s, in sessions %s %s", openA, openB, inA, inB)
	}
}

// Headers a server or its framework may take for who the user is never
// reach the backend from the client, however they are spelled.
func TestGateway_DropsLookalikeIdentityHeaders(t *testing.T) {
	t.Parallel()
	backend, seen := notesBackend(t)
	stack, _, tok := gatewayStack(t, backend.URL+"/mcp", nil, "read")
	id := initialize(t, stack.Resource.URL(), tok)
	forged := []string{"X_Forwarded_User", "X-Forwarded_Email", "X-Real-Ip", "X-Original-Url", "X-Forwarded-Prefix",
		"X-Forwarded-Port", "X-Auth-Request-User", "X-Auth-Request-Email", "X-Webauth-User", "X-Authenticated-User",
		"X-Remote-User", "Remote-User", "X-User", "X-Email", "X-Tmcp-Anything"}
	var header []string
	for _, h := range forged {
		header = append(header, h, "admin@evil.example")
	}
	header = append(header, "Mcp-Session-Id", id, "Mcp-Protocol-Version", testkit.MCPVersion)
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami_here", header...); resp.StatusCode != http.StatusOK {
		t.Fatalf("call: %d", resp.StatusCode)
	}
	seen.Range(func(name, value any) bool {
		if strings.Contains(value.(string), "evil.example") {
			t.Errorf("the backend got %s: %s", name, value)
		}
		return true
	})
	if u, _ := seen.Load(gateway.HeaderUser); u != "user-demo@example.com" {
		t.Errorf("%s = %v", gateway.HeaderUser, u)
	}
}

// A session is named once, by Mcp-Session-Id: a second header, a
// sessionId in the URL (the legacy SSE transport's), or an initialize
// naming a session is refused, so none of them opens a backend session
// past the caps.
func TestGateway_SessionNamedOnceByItsHeader(t *testing.T) {
	t.Parallel()
	backend, _ := notesBackend(t)
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy, c.Sessions = backend.URL+"/mcp", resource.SessionLimits{PerClient: 1}
	}}, "read")
	mcpURL := stack.Resource.URL()
	id := initialize(t, mcpURL, tok)
	for name, req := range map[string]*http.Request{
		"initialize in the query's session": testkit.MCPRequest(t, http.MethodPost, mcpURL+"?sessionId="+id, tok, "", strings.NewReader(initBody)),
		"initialize naming a session":       testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(initBody)),
		"two session headers": func() *http.Request {
			r := testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(listBody))
			r.Header.Add("Mcp-Session-Id", "other")
			return r
		}(),
	} {
		if resp := testkit.Send(t, req); resp.StatusCode != http.StatusBadRequest {
			t.Errorf("%s: %d, want 400", name, resp.StatusCode)
		}
	}
	if resp := send(t, mcpURL, tok, http.MethodPost, "initialize", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a second session past a cap of one: %d", resp.StatusCode)
	}
}

const (
	initBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	listBody = `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`
)

// The caps hold for requests that open sessions at once, however they
// spell initialize, and one user's sessions count together across their
// clients.
func TestGateway_SessionCapsHoldAcrossClientsAndAtOnce(t *testing.T) {
	t.Parallel()
	backend, _ := notesBackend(t)
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy, c.Sessions = backend.URL+"/mcp", resource.SessionLimits{PerUser: 3, PerClient: 2}
	}}, "read")
	mcpURL := stack.Resource.URL()
	var wg sync.WaitGroup
	var mu sync.Mutex
	opened := 0
	for range 12 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Spelled with an escape: still an initialize, still counted.
			escaped := strings.Replace(initBody, `"initialize"`, `"in\u0069tialize"`, 1)
			req := testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, "", strings.NewReader(escaped))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				mu.Lock()
				opened++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if opened != 2 {
		t.Fatalf("12 initializes at once opened %d sessions through one client, want 2", opened)
	}
	// Another client of the same user: one more, then the user's cap.
	other := stack.AccessToken(t, "read")
	initialize(t, mcpURL, other)
	if resp := send(t, mcpURL, other, http.MethodPost, "initialize", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a fourth session of one user across clients: %d, want 503", resp.StatusCode)
	}
}

// The operator hears at start what would leave the machine in the clear
// (the user's TaskManager token or identity assertion to a backend over
// plain http off loopback) and which resource rules cover one level only.
func TestGateway_WarnsAtStart(t *testing.T) {
	t.Parallel()
	start := func(proxy string, forward bool, rules ...string) string {
		logs := &testkit.LogBuffer{}
		policy, err := resource.ParseScopePolicy(rules)
		if err != nil {
			t.Fatal(err)
		}
		testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			c.Proxy, c.ForwardTaskManagerToken, c.ResourcePolicy, c.Logger = proxy, forward, policy, testkit.Logger(logs)
		}})
		return logs.String()
	}
	const clear = "plain http on the network"
	if log := start("http://10.255.255.1:3000/mcp", true); !strings.Contains(log, clear) {
		t.Errorf("the TaskManager token to http off loopback: no warning in\n%s", log)
	}
	if log := start("http://127.0.0.1:3000/mcp", true, "file:///private/**=admin"); strings.Contains(log, clear) || strings.Contains(log, "one level") {
		t.Errorf("a loopback backend, a /** rule: warned\n%s", log)
	}
	if log := start("https://notes.internal/mcp", true, "file:///private/*=admin"); strings.Contains(log, clear) || !strings.Contains(log, "covers one level") {
		t.Errorf("https, a /* rule:\n%s", log)
	}
}

// A configuration's problems are reported all at once, each naming its
// field, and not one server starts with any.
func TestConfig_ValidateReportsEveryProblem(t *testing.T) {
	policy, _ := resource.ParseScopePolicy([]string{"x=write"})
	err := resource.Config{Transport: "carrier-pigeon", ToolPolicy: policy, StdioEnv: []string{"A=b"},
		ProxyTimeout: -1, Resource: "not a url"}.Validate()
	var ps confcheck.Problems
	if !errors.As(err, &ps) {
		t.Fatalf("Validate: %v", err)
	}
	var fields []string
	for _, p := range ps {
		fields = append(fields, p.Field)
	}
	want := []string{"AuthServerURL", "ClientID", "ClientSecret", "DefaultScope", "Resource", "Transport", "ToolPolicy", "StdioEnv", "ProxyTimeout"}
	if !slices.Equal(fields, want) {
		t.Fatalf("problems with %v, want %v:\n%v", fields, want, err)
	}
}
