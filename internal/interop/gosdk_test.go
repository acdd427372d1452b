package interop_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/modelcontextprotocol/go-sdk/oauthex"
	"golang.org/x/oauth2"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// TestGoSDKClient runs the official Go SDK's OAuth client
// (auth.AuthorizationCodeHandler with dynamic registration) through the
// client matrix against tmcp: sign-in, tools/list, whoami, list_tasks,
// create_task after its own step-up, and a refresh with the oauth2 config
// it built. It registers with and without a scope; either way the step-up
// goes beyond what it registered.
func TestGoSDKClient(t *testing.T) {
	t.Parallel()
	for _, registered := range []string{"", "read"} {
		t.Run("registered scope "+fmt.Sprintf("%q", registered), func(t *testing.T) {
			t.Parallel()
			stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()

			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			redirect := fmt.Sprintf("http://%s/callback", ln.Addr())
			results := make(chan *auth.AuthorizationResult, 1)
			srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				q := r.URL.Query()
				results <- &auth.AuthorizationResult{Code: q.Get("code"), State: q.Get("state"), Iss: q.Get("iss")}
				fmt.Fprint(w, "done")
			})}
			go srv.Serve(ln) //nolint:errcheck // closed below
			defer srv.Close()

			var asked []string // the authorization URLs the SDK opened
			var oauthCfg *oauth2.Config
			var lastToken *oauth2.Token // of the latest sign-in (the SDK registers again to step up)
			h, err := auth.NewAuthorizationCodeHandler(&auth.AuthorizationCodeHandlerConfig{
				DynamicClientRegistrationConfig: &auth.DynamicClientRegistrationConfig{Metadata: &oauthex.ClientRegistrationMetadata{
					ClientName: "Go SDK interop client", RedirectURIs: []string{redirect}, TokenEndpointAuthMethod: "none",
					GrantTypes: []string{"authorization_code", "refresh_token"}, Scope: registered,
				}},
				RedirectURL: redirect,
				AuthorizationCodeFetcher: func(ctx context.Context, args *auth.AuthorizationArgs) (*auth.AuthorizationResult, error) {
					asked = append(asked, args.URL)
					go func() {
						if err := testkit.SignInAs(args.URL); err != nil {
							t.Errorf("sign in: %v", err)
						}
					}()
					select {
					case r := <-results:
						return r, nil
					case <-ctx.Done():
						return nil, ctx.Err()
					}
				},
				NewTokenSource: func(ctx context.Context, cfg *oauth2.Config, tok *oauth2.Token) (oauth2.TokenSource, error) {
					oauthCfg, lastToken = cfg, tok
					return cfg.TokenSource(ctx, tok), nil
				},
			})
			if err != nil {
				t.Fatal(err)
			}
			client := mcp.NewClient(&mcp.Implementation{Name: "go-sdk-interop", Version: "1"}, nil)
			cs, err := client.Connect(ctx, &mcp.StreamableClientTransport{Endpoint: stack.Resource.URL(), OAuthHandler: h}, nil)
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			defer cs.Close()
			tools, err := cs.ListTools(ctx, nil)
			if err != nil || len(tools.Tools) != 6 {
				t.Fatalf("tools/list: %v %v", tools, err)
			}
			call := func(name string, args map[string]any) map[string]any {
				t.Helper()
				res, err := cs.CallTool(ctx, &mcp.CallToolParams{Name: name, Arguments: args})
				if err != nil || res.IsError {
					t.Fatalf("%s: %v %+v", name, err, res)
				}
				sc, ok := res.StructuredContent.(map[string]any)
				if !ok {
					t.Fatalf("%s: structuredContent %T", name, res.StructuredContent)
				}
				return sc
			}
			if id := call("whoami", map[string]any{}); id["username"] != testkit.DemoEmail {
				t.Fatalf("whoami = %v", id)
			}
			if tasks := call("list_tasks", map[string]any{}); tasks["tasks"] == nil {
				t.Fatalf("list_tasks = %v", tasks)
			}
			// The 403 for write: the SDK steps up by itself.
			if task := call("create_task", map[string]any{"title": "from the Go SDK"}); task["title"] != "from the Go SDK" {
				t.Fatalf("create_task = %v", task)
			}
			if len(asked) != 2 {
				t.Fatalf("the SDK signed in %d times, want 2 (then a step-up): %v", len(asked), asked)
			}
			// Refresh with the oauth2 config the SDK built for tmcp.
			next, err := oauthCfg.TokenSource(ctx, &oauth2.Token{RefreshToken: lastToken.RefreshToken}).Token()
			if err != nil || next.AccessToken == "" || next.AccessToken == lastToken.AccessToken {
				t.Fatalf("refresh: %v %v", next, err)
			}
		})
	}
}
