package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// registerAtSandbox registers an MCP client directly at TaskManager.
func registerAtSandbox(t *testing.T, sandboxURL string) string {
	t.Helper()
	return registerAtSandboxAs(t, sandboxURL, "none")
}

// registerAtSandboxAs registers a client at the sandbox TaskManager, public
// ("none") or confidential.
func registerAtSandboxAs(t *testing.T, sandboxURL, authMethod string) string {
	t.Helper()
	b := testkit.NewBrowser(t, "")
	p := b.Get(sandboxURL + "/login")
	b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": testkit.DemoPassword})
	req, _ := http.NewRequest(http.MethodPost, sandboxURL+"/api/oauth/clients",
		strings.NewReader(`{"client_name":"IDE registered at TaskManager","redirect_uris":["`+testkit.ClientRedirect+`"],"token_endpoint_auth_method":"`+authMethod+`"}`))
	req.Header.Set("Content-Type", "application/json")
	resp, err := b.Client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		ClientID string `json:"client_id"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || out.ClientID == "" {
		t.Fatalf("register at the sandbox: %d %v", resp.StatusCode, err)
	}
	return out.ClientID
}

func TestClientLookup_AcceptsTaskManagerClients(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.ClientLookup = true }})
	id := registerAtSandbox(t, stack.Sandbox.URL())
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = id // no registration at tmcp
	if tok := c.SignInForTokens(nil); tok["access_token"] == nil {
		t.Fatalf("exchange as a TaskManager-registered client: %v", tok)
	}
	pageError(t, c.AuthorizeURL(map[string]string{"redirect_uri": "https://other.example/cb"}).URL, "redirect URI does not match")
	pageError(t, c.AuthorizeURL(map[string]string{"client_id": "tm_ci_unknown"}).URL, "not registered with this server")
}

func TestClientLookup_OffByDefault(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	id := registerAtSandbox(t, stack.Sandbox.URL())
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = id
	pageError(t, c.AuthorizeURL(nil).URL, "not registered with this server")
}

func TestClientLookup_TaskManagerDownRefuses(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.ClientLookup = true
		c.Upstream.ClientsEndpoint = "http://127.0.0.1:1/api/oauth/clients"
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = "tm_ci_somebody"
	// A fault, not a verdict: 503 with Retry-After, nothing redirected.
	p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(nil).URL)
	if p.Status != http.StatusServiceUnavailable || p.Header.Get("Retry-After") == "" || p.Header.Get("Location") != "" ||
		!strings.Contains(p.Body, "TaskManager could not be asked") {
		t.Fatalf("authorize with TaskManager down: %d %q", p.Status, p.Header.Get("Retry-After"))
	}
	status, body := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}})
	wantOAuthError(t, status, body, http.StatusServiceUnavailable, "temporarily_unavailable")
}

// --taskmanager-client-lookup accepts TaskManager's public clients only:
// a confidential client's id is no credential, its secret is.
func TestSecurity_LookupRefusesTaskManagerConfidentialClients(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.ClientLookup = true }})
	id := registerAtSandboxAs(t, stack.Sandbox.URL(), "client_secret_basic")
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = id
	pageError(t, c.AuthorizeURL(nil).URL, "not registered with this server")
}
