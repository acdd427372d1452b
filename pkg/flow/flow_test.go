package flow_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/flow"
	"github.com/tmcp-dev/tmcp/pkg/resource"
	"github.com/tmcp-dev/tmcp/pkg/testkit"
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
			"whoami=ok list_tasks=ok refresh=ok step-up=ok revoke=ok cors=ok"
		if got := names(report); got != want || !report.OK {
			t.Fatalf("sse=%v steps:\n%s\nwant\n%s\nfailed: %+v", sse, got, want, report.Failed())
		}
		if !strings.Contains(report.Steps[11].Detail, `ask for "read write"`) {
			t.Fatalf("step-up detail = %q", report.Steps[11].Detail)
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
		{"ServerDown", "discover", "tmcp dev", flow.Options{Server: "http://127.0.0.1:1/mcp"}},
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
