package interop_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// mcpgoSignIn has mark3labs/mcp-go's own OAuth client discover tmcp,
// register, sign in for scopes (the browser step scripted through the
// real pages) and initialize; it returns the client and its token store.
func mcpgoSignIn(t *testing.T, ctx context.Context, stack *testkit.Stack, scopes []string) (*client.Client, client.TokenStore) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	redirect := fmt.Sprintf("http://%s/callback", ln.Addr())
	got := make(chan map[string]string, 1)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- map[string]string{"code": r.URL.Query().Get("code"), "state": r.URL.Query().Get("state"), "iss": r.URL.Query().Get("iss")}
		fmt.Fprint(w, "done")
	})}
	go srv.Serve(ln) //nolint:errcheck // closed at cleanup
	t.Cleanup(func() { srv.Close() })

	store := client.NewMemoryTokenStore()
	c, err := client.NewOAuthStreamableHttpClient(stack.Resource.URL(), client.OAuthConfig{
		RedirectURI: redirect, Scopes: scopes, TokenStore: store, PKCEEnabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	initialize := func() error {
		req := mcp.InitializeRequest{}
		req.Params.ClientInfo = mcp.Implementation{Name: "mcp-go-oauth-interop", Version: "1"}
		_, err := c.Initialize(ctx, req)
		return err
	}
	err = c.Start(ctx)
	if err == nil {
		err = initialize()
	}
	if !client.IsOAuthAuthorizationRequiredError(err) {
		t.Fatalf("first connect = %v, want OAuth authorization required", err)
	}
	h := client.GetOAuthHandler(err)
	if err := h.RegisterClient(ctx, "mcp-go interop"); err != nil {
		t.Fatalf("register: %v", err)
	}
	verifier, _ := client.GenerateCodeVerifier()
	state, _ := client.GenerateState()
	authURL, err := h.GetAuthorizationURL(ctx, state, client.GenerateCodeChallenge(verifier))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(authURL, "resource=") || !strings.Contains(authURL, "code_challenge_method=S256") {
		t.Fatalf("authorization URL without resource or S256: %s", authURL)
	}
	go func() {
		if err := testkit.SignInAs(authURL); err != nil {
			t.Errorf("sign in: %v", err)
		}
	}()
	var cb map[string]string
	select {
	case cb = <-got:
	case <-ctx.Done():
		t.Fatal("no callback")
	}
	if cb["state"] != state || cb["iss"] != stack.Auth.URL() {
		t.Fatalf("callback = %v", cb)
	}
	if err := h.ProcessAuthorizationResponse(ctx, cb["code"], state, verifier); err != nil {
		t.Fatalf("token: %v", err)
	}
	if err := c.Start(ctx); err != nil && !strings.Contains(err.Error(), "already") {
		t.Fatalf("restart: %v", err)
	}
	if err := initialize(); err != nil {
		t.Fatalf("initialize with the token: %v", err)
	}
	if _, err := c.ListTools(ctx, mcp.ListToolsRequest{}); err != nil {
		t.Fatalf("tools/list: %v", err)
	}
	return c, store
}

func callMCPGo(ctx context.Context, c *client.Client, name string, args map[string]any) (map[string]any, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		return nil, err
	}
	if res.IsError {
		return nil, fmt.Errorf("%s: %v", name, res.Content)
	}
	sc, ok := res.StructuredContent.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("%s: structuredContent %T is not an object", name, res.StructuredContent)
	}
	return sc, nil
}

// TestMCPGoOAuthClient runs mark3labs/mcp-go's OAuth client through the
// client matrix: sign-in, tools/list, whoami, list_tasks, create_task and
// a refresh. mcp-go ignores the scope of a 403's challenge (it does not
// step up): the 403 reaches the application as an error, recorded in the
// interoperability table (docs/interoperability.md), and a sign-in that asks for write up front creates the task.
func TestMCPGoOAuthClient(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	c, _ := mcpgoSignIn(t, ctx, stack, []string{"read"})
	if id, err := callMCPGo(ctx, c, "whoami", nil); err != nil || id["username"] != testkit.DemoEmail {
		t.Fatalf("whoami: %v %v", id, err)
	}
	if tasks, err := callMCPGo(ctx, c, "list_tasks", nil); err != nil || tasks["tasks"] == nil {
		t.Fatalf("list_tasks: %v %v", tasks, err)
	}
	if _, err := callMCPGo(ctx, c, "create_task", map[string]any{"title": "x"}); err == nil || !strings.Contains(err.Error(), "insufficient_scope") {
		t.Fatalf("create_task with read = %v: mcp-go's 403 handling changed; update the table in docs/interoperability.md", err)
	}

	w, store := mcpgoSignIn(t, ctx, stack, []string{"read", "write"})
	task, err := callMCPGo(ctx, w, "create_task", map[string]any{"title": "from mcp-go"})
	if err != nil || task["title"] != "from mcp-go" {
		t.Fatalf("create_task with write: %v %v", task, err)
	}
	// Refresh: an expired access token makes mcp-go refresh before the call.
	tok, err := store.GetToken(ctx)
	if err != nil || tok.RefreshToken == "" {
		t.Fatalf("token: %v %v", tok, err)
	}
	old := tok.AccessToken
	tok.ExpiresAt = time.Now().Add(-time.Minute)
	if err := store.SaveToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	if id, err := callMCPGo(ctx, w, "whoami", nil); err != nil || id["username"] != testkit.DemoEmail {
		t.Fatalf("whoami after expiry: %v %v", id, err)
	}
	if tok, _ := store.GetToken(ctx); tok.AccessToken == old {
		t.Fatal("mcp-go did not refresh the expired token")
	}
}
