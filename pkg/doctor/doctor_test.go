package doctor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/pkg/doctor"
	"github.com/tmcp-dev/tmcp/pkg/resource"
	"github.com/tmcp-dev/tmcp/pkg/testkit"
	"github.com/tmcp-dev/tmcp/pkg/upstream"
)

func options(stack *testkit.Stack) doctor.Options {
	return doctor.Options{
		Upstream: stack.Config.Upstream, AuthServer: stack.Auth.URL(), MCPServer: stack.Resource.URL(),
		ResourceClientID: testkit.ResourceClientID, ResourceSecret: testkit.ResourceSecret,
	}
}

func verdicts(r *doctor.Report) map[string]*doctor.Check {
	out := map[string]*doctor.Check{}
	for _, c := range r.Checks {
		out[c.Name] = c
	}
	return out
}

func TestDoctor_HealthyDeploymentPasses(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	opts := options(stack)
	r := doctor.Run(context.Background(), opts)
	checks := verdicts(r)
	for _, name := range []string{"taskmanager", "client secret", "authorize", "redirect uri", "clients api", "jwks",
		"auth metadata", "resource meta", "introspection", "clock skew", "cors"} {
		if c := checks[name]; c == nil || !c.OK {
			t.Errorf("check %q: %+v", name, c)
		}
	}
	if !r.OK {
		for _, c := range r.Checks {
			t.Logf("%v %s: %s (%s)", c.OK, c.Name, c.Saw, c.Fix)
		}
		t.Fatal("a healthy deployment failed the doctor")
	}
}

// Each broken deployment fails exactly the check that explains it.
func TestDoctor_NamesEachFailure(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	cases := []struct {
		name    string
		mutate  func(*doctor.Options)
		failing []string
		fix     string
	}{
		{"WrongSecret", func(o *doctor.Options) { o.Upstream.ClientSecret = "wrong" }, []string{"client secret"}, "Invalid client"},
		{"WrongRedirectURI", func(o *doctor.Options) { o.AuthServer = "http://localhost:1" }, []string{"redirect uri", "auth metadata", "resource meta", "introspection"}, "Invalid redirect URI"},
		{"TaskManagerDown", func(o *doctor.Options) { o.Upstream.BaseURL = "http://127.0.0.1:1" },
			[]string{"taskmanager", "client secret", "authorize", "redirect uri", "clients api", "jwks"}, "Start TaskManager"},
		{"MismatchedResourceURL", func(o *doctor.Options) { o.MCPServer = strings.Replace(o.MCPServer, "127.0.0.1", "localhost", 1) },
			[]string{"resource meta"}, "--public-url"},
		{"WrongIntrospectionSecret", func(o *doctor.Options) { o.ResourceSecret = "nope" }, []string{"introspection"}, "same introspection secret"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(stack)
			tc.mutate(&opts)
			r := doctor.Run(context.Background(), opts)
			if r.OK {
				t.Fatal("the doctor passed a broken deployment")
			}
			v := verdicts(r)
			var failed []string
			for _, c := range r.Checks {
				if !c.OK {
					failed = append(failed, c.Name)
				}
			}
			if strings.Join(failed, ",") != strings.Join(tc.failing, ",") {
				t.Fatalf("failed checks = %v, want %v", failed, tc.failing)
			}
			if first := v[tc.failing[0]]; !strings.Contains(first.Fix, tc.fix) || first.Saw == "" {
				t.Fatalf("%s: saw %q, fix %q; want a fix mentioning %q", first.Name, first.Saw, first.Fix, tc.fix)
			}
		})
	}
}

func TestDoctor_CORSRefused(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true,
		MutateResource: func(c *resource.Config) { c.AllowedOrigins = []string{"https://only.example"} }})
	r := doctor.Run(context.Background(), options(stack))
	v := verdicts(r)
	if r.OK || v["cors"].OK || !strings.Contains(v["cors"].Fix, "--allowed-origin") {
		t.Fatalf("cors = %+v", v["cors"])
	}
	for _, c := range r.Checks {
		if c.Name != "cors" && !c.OK {
			t.Errorf("%s failed too: %s", c.Name, c.Saw)
		}
	}
}

// Endpoint URLs in an auth server's metadata come from outside: a
// malformed one fails its check with a message, never a panic.
func TestDoctor_MalformedMetadataURLs(t *testing.T) {
	t.Parallel()
	for _, bad := range []string{"http://a b/token", "http://[::1/token", "://no-scheme", "http://%zz/x"} {
		srv := httptest.NewServer(nil)
		srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":%q,"token_endpoint":%q,"introspection_endpoint":%q,"authorization_endpoint":%q}`,
				srv.URL, bad, bad, bad)
		})
		r := doctor.Run(context.Background(), doctor.Options{
			Upstream: upstream.Config{BaseURL: "http://127.0.0.1:1"}, AuthServer: srv.URL, MCPServer: srv.URL + "/mcp",
			ResourceClientID: "r", ResourceSecret: "s",
		})
		srv.Close()
		checks := verdicts(r)
		for _, name := range []string{"introspection", "cors"} {
			if c := checks[name]; c == nil || c.OK || !strings.Contains(c.Saw, "not a usable URL") {
				t.Errorf("%s: check %q = %+v, want a failure naming the malformed URL", bad, name, c)
			}
		}
	}
}
