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

	"github.com/tmcp-dev/tmcp/pkg/testkit"
)

// TestMCPGoOAuthClient has mark3labs/mcp-go's own OAuth client discover
// tmcp, register, sign in (the browser step scripted through the real
// pages), and call whoami.
func TestMCPGoOAuthClient(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
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
	go srv.Serve(ln) //nolint:errcheck // closed below
	defer srv.Close()

	c, err := client.NewOAuthStreamableHttpClient(stack.Resource.URL(), client.OAuthConfig{
		RedirectURI: redirect, Scopes: []string{"read"}, TokenStore: client.NewMemoryTokenStore(), PKCEEnabled: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
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
	req := mcp.CallToolRequest{}
	req.Params.Name = "whoami"
	res, err := c.CallTool(ctx, req)
	if err != nil || res.IsError {
		t.Fatalf("whoami: %v %v", err, res)
	}
	if text := res.Content[0].(mcp.TextContent).Text; !strings.Contains(text, testkit.DemoEmail) {
		t.Fatalf("whoami = %s", text)
	}
	c.Close()
}
