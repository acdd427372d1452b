package flow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/flow"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// signInInBackground opens the URL with a scripted person.
func signInInBackground(t *testing.T) func(string) error {
	return func(u string) error {
		go func() {
			if err := testkit.SignInAs(u); err != nil {
				t.Errorf("browser: %v", err)
			}
		}()
		return nil
	}
}

func names(r *flow.Report) string {
	var out []string
	for _, s := range r.Steps {
		mark := "ok"
		switch {
		case s.Skipped:
			mark = "skip"
		case !s.OK:
			mark = "FAIL"
		}
		out = append(out, s.Name+"="+mark)
	}
	return strings.Join(out, " ")
}

func TestRun_WholeFlowPasses(t *testing.T) {
	t.Parallel()
	for _, sse := range []bool{false, true} {
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			if sse {
				c.Transport = resource.TransportSSE
			}
		}})
		report := flow.Run(context.Background(), flow.Options{
			Server: stack.Resource.URL(), SSE: sse, Open: signInInBackground(t), Timeout: 20 * time.Second,
		})
		want := "discover=ok resource meta=ok auth meta=ok register=ok sign in=ok token=ok initialize=ok tools/list=ok " +
			"whoami=ok list_tasks=ok step-up=ok sign in=ok token=ok create_task=ok refresh=ok revoke=ok cors=ok unregister=ok"
		if got := names(report); got != want || !report.OK {
			t.Fatalf("sse=%v steps:\n%s\nwant\n%s\nfailed: %+v", sse, got, want, report.Failed())
		}
		if s := report.Step("step-up"); s == nil || s.Detail != `403 insufficient_scope on tools/call → ask for "read write"` {
			t.Fatalf("step-up step = %+v", s)
		}
		if s := report.Step("create_task"); s == nil || !strings.Contains(s.Detail, "created and deleted, after stepping up to read write") {
			t.Fatalf("create_task step = %+v", s)
		}
	}
}

func TestRun_FailuresNameTheStepAndTheFix(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	cases := []struct {
		name, step, hint string
		opts             flow.Options
	}{
		{"ServerDown", "initialize", "Nothing answers at http://127.0.0.1:1/mcp: start the MCP server (tmcp serve resource)", flow.Options{Server: "http://127.0.0.1:1/mcp"}},
		{"DevServerDown", "initialize", "Is tmcp dev still running?", flow.Options{Server: "http://127.0.0.1:1/mcp", Dev: true}},
		{"UnknownClient", "sign in", "", flow.Options{Server: stack.Resource.URL(), ClientID: "tmcp_ci_nobody", Timeout: 2 * time.Second,
			Open: func(u string) error {
				go http.Get(u) //nolint:errcheck // the error page is the point
				return nil
			}}},
		{"WrongSecret", "token", "Invalid client", flow.Options{Server: stack.Resource.URL(), Open: signInInBackground(t), Timeout: 20 * time.Second}},
		{"BrowserTimeout", "sign in", "raise --timeout", flow.Options{Server: stack.Resource.URL(), NoBrowser: true, Timeout: 300 * time.Millisecond}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := tc.opts
			if tc.name == "WrongSecret" {
				c := testkit.Discover(t, stack.Auth.URL())
				c.RedirectURI = "http://localhost:0/callback"
				c.Register(map[string]any{"redirect_uris": []string{"http://localhost/callback"}, "grant_types": []string{"authorization_code"}})
				opts.ClientID, opts.ClientSecret = c.ClientID, "wrong"
				opts.CallbackPort = 0
			}
			r := flow.Run(context.Background(), opts)
			failed := r.Failed()
			if r.OK || failed == nil || failed.Name != tc.step || !strings.Contains(failed.Hint, tc.hint) || failed.Error == "" {
				t.Fatalf("failed step = %+v, want %s with a hint containing %q\n%s", failed, tc.step, tc.hint, names(r))
			}
		})
	}
}

// Deployments that sign in fine but fail after: the fix names the
// setting, from what the servers say at /status.
func TestRun_FixesNameTheSetting(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name, step, hint string
		opts             testkit.AuthOptions
	}{
		{"IntrospectionSecretDiffers", "initialize", "give serve auth and serve resource the same TMCP_RESOURCE_CLIENT_SECRET",
			testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.ClientSecret = "another" }}},
		{"ResourceTheAuthServerDoesNotKnow", "sign in", "The auth server issues no tokens for http://127.0.0.1:",
			testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.Resource = strings.TrimSuffix(c.Resource, "/mcp") + "/other-mcp" }}},
		{"AuthServerDown", "auth meta", "The auth server the MCP server names (http://127.0.0.1:1) does not answer: start it (tmcp serve auth), or fix --auth-server on serve resource",
			testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.AuthServerURL = "http://127.0.0.1:1" }}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Resource = true
			stack := testkit.StartStack(t, tc.opts)
			r := flow.Run(context.Background(), flow.Options{Server: stack.Resource.URL(), Timeout: 20 * time.Second,
				Open: func(u string) error {
					go testkit.SignInAs(u) //nolint:errcheck // some of these end on an error page
					return nil
				}})
			failed := r.Failed()
			if r.OK || failed == nil || failed.Name != tc.step || !strings.Contains(failed.Hint, tc.hint) {
				t.Fatalf("failed step = %+v, want %s with a fix containing %q\n%s", failed, tc.step, tc.hint, names(r))
			}
		})
	}
}

// A sign-in that ends on the auth server's error page sends no callback:
// flow test learns it from the auth server's /status and stops waiting.
func TestRun_FailedSignInEndsTheWait(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, Mutate: func(c *authserver.Config) {
		c.Admission = authserver.Admission{Users: []string{"someone-else@example.com"}}
	}})
	start := time.Now()
	r := flow.Run(context.Background(), flow.Options{Server: stack.Resource.URL(), Timeout: time.Minute,
		Open: func(u string) error {
			go testkit.SignInAs(u) //nolint:errcheck // it ends on the refusal page
			return nil
		}})
	failed := r.Failed()
	if failed == nil || failed.Name != "sign in" || !strings.Contains(failed.Error, "the auth server reports the sign-in failed: access_denied") {
		t.Fatalf("failed step = %+v\n%s", failed, names(r))
	}
	if waited := time.Since(start); waited > 20*time.Second {
		t.Fatalf("flow test waited %s for a callback that could not come", waited)
	}
}

// RFC 9700 §4.4 / RFC 9207: flow test refuses an authorization response
// whose iss is not the issuer it asked (a mix-up attack).
func TestSecurity_MixUp_FlowRefusesForeignIss(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	report := flow.Run(context.Background(), flow.Options{
		Server: stack.Resource.URL(), Timeout: 20 * time.Second,
		Open: func(u string) error {
			go func() {
				// Sign in, but deliver the response as if another
				// authorization server had sent it.
				au, _ := url.Parse(u)
				b := testkit.NewBrowser(t, au.Query().Get("redirect_uri"))
				back := testkit.SignIn(t, b, u)
				q := back.Query()
				q.Set("iss", "https://attacker.example")
				back.RawQuery = q.Encode()
				resp, err := http.Get(back.String())
				if err == nil {
					resp.Body.Close()
				}
			}()
			return nil
		},
	})
	failed := report.Failed()
	if report.OK || failed == nil || failed.Name != "sign in" || !strings.Contains(failed.Error, "mix-up") {
		t.Fatalf("flow accepted a foreign iss: %s %+v", names(report), failed)
	}
}

// A server that is not tmcp may name malformed endpoint URLs in its
// metadata: the step that uses one fails and says so, never a panic.
func TestRun_MalformedMetadataURLs(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"http://a b/token", "http://[::1/token", "http://%zz/x"} {
		for _, field := range []string{"registration_endpoint", "token_endpoint"} {
			srv := httptest.NewServer(nil)
			srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				meta := map[string]any{"issuer": srv.URL, "authorization_endpoint": srv.URL + "/authorize",
					"token_endpoint": srv.URL + "/token", "registration_endpoint": srv.URL + "/register",
					"code_challenge_methods_supported": []string{"S256"}}
				meta[field] = bad
				switch r.URL.Path {
				case "/mcp":
					w.Header().Set("WWW-Authenticate", `Bearer resource_metadata="`+srv.URL+`/.well-known/oauth-protected-resource/mcp"`)
					w.WriteHeader(http.StatusUnauthorized)
				case "/.well-known/oauth-protected-resource/mcp":
					json.NewEncoder(w).Encode(map[string]any{"resource": srv.URL + "/mcp", "authorization_servers": []string{srv.URL}})
				case "/.well-known/oauth-authorization-server":
					json.NewEncoder(w).Encode(meta)
				case "/register":
					w.WriteHeader(http.StatusCreated)
					fmt.Fprint(w, `{"client_id":"c1"}`)
				case "/authorize":
					q := r.URL.Query()
					http.Redirect(w, r, q.Get("redirect_uri")+"?code=abc&state="+url.QueryEscape(q.Get("state")), http.StatusFound)
				}
			})
			r := flow.Run(context.Background(), flow.Options{Server: srv.URL + "/mcp", CallbackPort: 0, Timeout: 5 * time.Second,
				Open: func(u string) error { go http.Get(u); return nil }}) //nolint:errcheck // the callback is what counts
			srv.Close()
			want := map[string]string{"registration_endpoint": "register", "token_endpoint": "token"}[field]
			failed := r.Failed()
			if failed == nil || failed.Name != want || !strings.Contains(failed.Error, "not a usable URL") {
				t.Errorf("%s = %s: failed step %+v, want %s naming the malformed URL\n%s", field, bad, failed, want, names(r))
			}
		}
	}
}

// A server whose whoami answers text alone (no structuredContent) fails
// that step and says so; one without the built-in tools skips their steps.
func TestRun_ToolAnswersOfTheWrongShape(t *testing.T) {
	t.Parallel()
	run := func(tools ...string) *flow.Report {
		team := server.NewMCPServer("team", "1.0.0")
		for _, name := range tools {
			team.AddTool(mcp.NewTool(name), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
				return mcp.NewToolResultText("alice"), nil
			})
		}
		backend := httptest.NewServer(server.NewStreamableHTTPServer(team))
		t.Cleanup(backend.Close)
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			c.Proxy = backend.URL + "/mcp"
		}})
		return flow.Run(context.Background(), flow.Options{Server: stack.Resource.URL(), Open: signInInBackground(t), Timeout: 20 * time.Second})
	}
	report := run("whoami")
	if s := report.Step("whoami"); report.OK || s == nil || s.OK || s.Error != "whoami answered something other than an identity" {
		t.Fatalf("whoami step = %+v\n%s", s, names(report))
	}
	report = run("hello")
	for _, name := range []string{"whoami", "list_tasks", "create_task"} {
		if s := report.Step(name); !report.OK || s == nil || !s.Skipped || !strings.Contains(s.Detail+s.Error, "the server has no "+name+" tool") {
			t.Fatalf("%s step = %+v\n%s", name, s, names(report))
		}
	}
}

// TestRun_DPoPFlowPasses: with DPoP on, flow test gets DPoP-bound
// tokens, calls with proofs (through step-up and refresh), and sees the
// token refused as a bearer token, with another key and with a replayed
// proof, against servers that require DPoP and ask for nonces, with
// opaque and JWT access tokens.
func TestRun_DPoPFlowPasses(t *testing.T) {
	t.Parallel()
	for _, format := range []string{authserver.FormatOpaque, authserver.FormatJWT} {
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true,
			Mutate:         func(c *authserver.Config) { c.TokenFormat, c.RequireDPoP, c.DPoPNonce = format, true, true },
			MutateResource: func(c *resource.Config) { c.RequireDPoP, c.DPoPNonce = true, true }})
		report := flow.Run(context.Background(), flow.Options{
			Server: stack.Resource.URL(), DPoP: true, Open: signInInBackground(t), Timeout: 20 * time.Second,
		})
		want := "discover=ok resource meta=ok auth meta=ok register=ok sign in=ok token=ok initialize=ok tools/list=ok " +
			"whoami=ok list_tasks=ok step-up=ok sign in=ok token=ok create_task=ok dpop=ok refresh=ok revoke=ok cors=ok unregister=ok"
		if got := names(report); got != want || !report.OK {
			t.Fatalf("%s steps:\n%s\nwant\n%s\nfailed: %+v", format, got, want, report.Failed())
		}
	}
}
