package resource_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/gateway"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/testkit/oidcop"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Accounts at a third-party OpenID provider (the zitadel/oidc example):
// alice's address is verified; mallory's is not, and her username (the
// preferred_username claim) spells someone else's address.
var (
	alice   = oidcop.User{ID: "u-alice", Username: "alice", Password: "alice-pw", Email: "alice@example.com", FirstName: "Alice", LastName: "A"}
	mallory = oidcop.User{ID: "u-mallory", Username: "ceo@example.com", Password: "mallory-pw", Email: "mallory@example.com",
		EmailUnverified: true, FirstName: "Mallory", LastName: "M"}
)

// behindProvider runs the auth server in front of that provider, issuing
// access tokens in format, and the resource server as mutate sets it up;
// signIn returns a user's MCP access token.
func behindProvider(t *testing.T, format string, mutate func(*resource.Config)) (stack *testkit.Stack, signIn func(oidcop.User) string) {
	t.Helper()
	const clientID, secret = "tmcp-at-provider", "provider-client-secret"
	stack = testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: mutate,
		Mutate: func(c *authserver.Config) { c.TokenFormat = format },
		Provider: func(callback string) upstream.Config {
			op := oidcop.Start(t, oidcop.Options{Users: []oidcop.User{alice, mallory}, ClientID: clientID, ClientSecret: secret,
				RedirectURI: callback, Quiet: true})
			return upstream.Config{Issuer: op.Issuer, ClientID: clientID, ClientSecret: secret, Timeout: 5 * time.Second}
		}})
	c := testkit.Discover(t, stack.Auth.URL())
	c.Resource = stack.Resource.URL()
	c.RegisterPublic()
	return stack, func(u oidcop.User) string {
		t.Helper()
		authz := c.AuthorizeURL(map[string]string{"scope": "read"})
		back := oidcop.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), authz.URL, u)
		status, tok := c.Exchange(back.Query().Get("code"), authz.Verifier)
		if status != http.StatusOK {
			t.Fatalf("%s's sign-in: %d %v", u.Username, status, tok)
		}
		return tok["access_token"].(string)
	}
}

type backendHeaders struct{}

// addressBackend is the team's MCP server: its tool says which address
// the gateway sent, in X-Forwarded-Email and in the identity assertion.
func addressBackend(t *testing.T) *httptest.Server {
	t.Helper()
	m := server.NewMCPServer("addresses", "1.0.0", server.WithToolCapabilities(false))
	m.AddTool(mcp.NewTool("email_here"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		h, _ := ctx.Value(backendHeaders{}).(http.Header)
		_, set := h[http.CanonicalHeaderKey(gateway.HeaderEmail)]
		var claims struct {
			Email *string `json:"email"`
		}
		if parts := strings.Split(h.Get(gateway.HeaderIdentity), "."); len(parts) == 3 {
			payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
			_ = json.Unmarshal(payload, &claims)
		}
		assertion := "none"
		if claims.Email != nil {
			assertion = *claims.Email
		}
		return mcp.NewToolResultText(fmt.Sprintf("header %q set=%v, assertion %s", h.Get(gateway.HeaderEmail), set, assertion)), nil
	})
	srv := httptest.NewServer(server.NewStreamableHTTPServer(m, server.WithHTTPContextFunc(func(ctx context.Context, r *http.Request) context.Context {
		return context.WithValue(ctx, backendHeaders{}, r.Header.Clone())
	})))
	t.Cleanup(srv.Close)
	return srv
}

// Only the address the provider verified reaches the team's server, as
// X-Forwarded-Email and as the identity assertion's email: never a
// username, however much it looks like an address. The resource server
// learns it by introspection or from a JWT access token alike.
func TestGateway_OnlyAVerifiedAddressIsForwarded(t *testing.T) {
	t.Parallel()
	backend := addressBackend(t)
	for _, format := range []string{authserver.FormatOpaque, authserver.FormatJWT} {
		stack, signIn := behindProvider(t, format, func(c *resource.Config) {
			c.Proxy, c.ProxyTimeout, c.IdentityAssertion = backend.URL+"/mcp", 5*time.Second, true
		})
		for _, tc := range []struct {
			user oidcop.User
			want string
		}{
			{alice, `header "alice@example.com" set=true, assertion alice@example.com`},
			{mallory, `header "" set=false, assertion none`},
		} {
			mc, err := testkit.MCP(t, stack.Resource.URL(), signIn(tc.user), "2025-06-18", false)
			if err != nil {
				t.Fatal(err)
			}
			if _, got := testkit.CallTool(t, mc, "email_here", nil); got != tc.want {
				t.Errorf("%s, %s tokens: the backend saw %s, want %s", tc.user.Username, format, got, tc.want)
			}
		}
	}
}

// emailServer is a stdio MCP server whose tool says what TMCP_EMAIL its
// process was started with (`resource.test stdio-email-server`).
func emailServer() {
	m := server.NewMCPServer("stdio-email", "1.0.0")
	m.AddTool(mcp.NewTool("email"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		email, set := os.LookupEnv("TMCP_EMAIL")
		return mcp.NewToolResultText(fmt.Sprintf("%q set=%v", email, set)), nil
	})
	_ = server.ServeStdio(m)
}

// Only a verified address is in a stdio server's TMCP_EMAIL: the
// sandbox TaskManager's demo user's is, an unverified one is not.
func TestStdio_OnlyAVerifiedAddressIsInTheEnvironment(t *testing.T) {
	t.Parallel()
	stdio := func(c *resource.Config) {
		c.Command, c.ProxyTimeout = []string{os.Args[0], "stdio-email-server"}, 5*time.Second
	}
	email := func(mcpURL, token string) string {
		mc, err := testkit.MCP(t, mcpURL, token, "2025-06-18", false)
		if err != nil {
			t.Fatal(err)
		}
		_, got := testkit.CallTool(t, mc, "email", nil)
		return got
	}
	sandbox, _, demo := stdioStack(t, stdio)
	if got := email(sandbox.Resource.URL(), demo); got != `"demo@example.com" set=true` {
		t.Errorf("the sandbox's demo user: TMCP_EMAIL %s", got)
	}
	stack, signIn := behindProvider(t, authserver.FormatOpaque, stdio)
	if got := email(stack.Resource.URL(), signIn(alice)); got != `"alice@example.com" set=true` {
		t.Errorf("alice: TMCP_EMAIL %s", got)
	}
	if got := email(stack.Resource.URL(), signIn(mallory)); got != `"" set=false` {
		t.Errorf("mallory, unverified: TMCP_EMAIL %s", got)
	}
}
