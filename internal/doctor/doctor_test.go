package doctor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/doctor"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/upstream"
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
	for _, name := range []string{"servers", "settings", "taskmanager", "client secret", "authorize", "redirect uri", "clients api", "jwks",
		"auth metadata", "resource meta", "tokens for mcp", "introspection", "clock skew", "cors"} {
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

// The servers know what they run with; doctor's shell may not. A working
// deployment passes though doctor has no client secret and no client id,
// and the wrong introspection secret: it asks the servers.
func TestDoctor_WorkingDeploymentPassesWithoutTheSecrets(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	opts := options(stack)
	opts.Upstream.ClientID, opts.Upstream.ClientSecret, opts.ResourceSecret = "", "", "not-the-servers"
	r := doctor.Run(context.Background(), opts)
	if !r.OK {
		for _, c := range r.Checks {
			t.Logf("%v %s: %s (%s)", c.OK, c.Name, c.Saw, c.Fix)
		}
		t.Fatal("doctor failed a working deployment because its own shell lacks the secrets")
	}
	if got := r.Setting(doctor.SettingClientID); got != testkit.UpstreamClientID {
		t.Fatalf("client id = %q, want the running server's", got)
	}
	for _, s := range r.Settings {
		if s.Name == doctor.SettingClientID && s.Source != "running auth server" {
			t.Fatalf("client id source = %q", s.Source)
		}
	}
}

// Each broken deployment fails the checks that explain it, and explain
// names the one whose fix says what to do.
func TestDoctor_NamesEachFailure(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	explicit := map[string]string{doctor.SettingTaskManager: "--taskmanager-url", doctor.SettingClientID: "config file"}
	cases := []struct {
		name    string
		mutate  func(*doctor.Options)
		failing []string
		explain string
		fix     string
	}{
		{"AuthServerElsewhere", func(o *doctor.Options) { o.AuthServer = "http://localhost:1" },
			[]string{"servers", "settings", "redirect uri", "auth metadata", "resource meta", "tokens for mcp"}, "redirect uri", "Invalid redirect URI"},
		{"TaskManagerDown", func(o *doctor.Options) { o.Upstream.BaseURL, o.Sources = "http://127.0.0.1:1", explicit },
			[]string{"settings", "taskmanager", "client secret", "authorize", "redirect uri", "clients api", "jwks"}, "taskmanager", "Start TaskManager"},
		{"MismatchedResourceURL", func(o *doctor.Options) { o.MCPServer = strings.Replace(o.MCPServer, "127.0.0.1", "localhost", 1) },
			[]string{"resource meta"}, "resource meta", "--public-url"},
		// An endpoint path that is not TaskManager's route points at its
		// setting.
		{"WrongClientsPath", func(o *doctor.Options) { o.Upstream.ClientsEndpoint = "/api/oauth/client-list" },
			[]string{"clients api"}, "clients api", "taskmanager.clients_endpoint"},
		{"WrongJWKSPath", func(o *doctor.Options) { o.Upstream.JWKSEndpoint = "/api/oauth/keys" },
			[]string{"jwks"}, "jwks", "taskmanager.jwks_endpoint"},
		// client register --save wrote a new client; serve auth still runs
		// with the old one until it restarts.
		{"ServerStillOnTheOldClient", func(o *doctor.Options) { o.Upstream.ClientID, o.Sources = "tm_ci_new", explicit },
			[]string{"settings", "client secret", "redirect uri"}, "settings", "Restart serve auth"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			opts := options(stack)
			tc.mutate(&opts)
			expectFailures(t, doctor.Run(context.Background(), opts), tc.failing, tc.explain, tc.fix)
		})
	}
}

// Deployments broken in the servers themselves, which doctor learns by
// asking them.
func TestDoctor_BrokenServers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		opts    testkit.AuthOptions
		failing []string
		fix     string
	}{
		// TaskManager refuses the client serve auth runs with (deleted
		// there, or a wrong secret in the server's environment).
		{"ServerClientRefused", testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Upstream.ClientSecret = "wrong" }},
			[]string{"client secret"}, "Invalid client"},
		// The MCP server introspects with a secret serve auth does not have.
		{"IntrospectionSecretDiffers", testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.ClientSecret = "another" }},
			[]string{"introspection"}, "same introspection secret"},
		// The MCP server runs on a URL the auth server issues no tokens for.
		{"MCPServerUnknownToTheAuthServer", testkit.AuthOptions{MutateResource: func(c *resource.Config) {
			c.Resource = strings.TrimSuffix(c.Resource, "/mcp") + "/other-mcp"
		}}, []string{"tokens for mcp"}, "--resource"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.opts.Resource = true
			stack := testkit.StartStack(t, tc.opts)
			expectFailures(t, doctor.Run(context.Background(), options(stack)), tc.failing, tc.failing[0], tc.fix)
		})
	}
}

func expectFailures(t *testing.T, r *doctor.Report, failing []string, explain, fix string) {
	t.Helper()
	if r.OK {
		t.Fatal("the doctor passed a broken deployment")
	}
	var failed []string
	for _, c := range r.Checks {
		if !c.OK {
			failed = append(failed, c.Name)
		}
	}
	if strings.Join(failed, ",") != strings.Join(failing, ",") {
		for _, c := range r.Checks {
			t.Logf("%v %s: %s (%s)", c.OK, c.Name, c.Saw, c.Fix)
		}
		t.Fatalf("failed checks = %v, want %v", failed, failing)
	}
	if c := verdicts(r)[explain]; !strings.Contains(c.Fix, fix) || c.Saw == "" {
		t.Fatalf("%s: saw %q, fix %q; want a fix mentioning %q", c.Name, c.Saw, c.Fix, fix)
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
