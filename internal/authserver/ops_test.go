package authserver_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOperations_MetricsReadinessAudit(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	s := signIn(t, testkit.AuthOptions{Log: logs})
	_, refresh := s.tokens(t)
	s.c.Form(s.c.Meta.RevocationEndpoint, map[string][]string{"token": {refresh}})
	s.c.Exchange(s.code, s.authz.Verifier) // a replay

	ops := httptest.NewServer(s.stack.Auth.OpsHandler())
	defer ops.Close()
	status, body := get(t, ops.URL+"/metrics")
	if status != 200 {
		t.Fatalf("/metrics: %d", status)
	}
	for _, want := range []string{
		`tmcp_tokens_issued_total{grant="authorization_code"} 1`,
		`tmcp_revocations_total{cause="client_refresh"} 1`,
		`tmcp_revocations_total{cause="code_replay"} 1`,
		`tmcp_oauth_errors_total{error="invalid_grant"} 1`,
		`tmcp_http_requests_total{route="POST /oauth/token",server="auth",status="200"} 1`,
		`tmcp_upstream_request_duration_seconds_count{op="exchange"} 1`,
		`tmcp_http_request_duration_seconds_bucket{route="GET /oauth/callback",server="auth"`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if regexp.MustCompile(`route="[^"]*tmcp_`).MatchString(body) {
		t.Error("a token reached a metric label")
	}
	if status, _ := get(t, s.stack.Auth.URL()+"/readyz"); status != 200 {
		t.Fatalf("/readyz: %d", status)
	}
	for _, event := range []string{`msg="client registered" audit=true`, `msg="consent granted" audit=true`,
		`msg="token revoked" audit=true`, `msg="token family revoked" audit=true reason="authorization code replayed"`} {
		if !strings.Contains(logs.String(), event) {
			t.Errorf("audit log lacks %s", event)
		}
	}
}

// /status tells doctor what the server runs with: to a request from this
// machine, or one with a resource server's introspection credentials;
// never a secret.
func TestStatus_OnlyLocalOrAuthenticatedAndNoSecrets(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	get := func(forwarded bool, id, secret string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, stack.Auth.URL()+"/status", nil)
		if forwarded {
			req.Header.Set("X-Forwarded-For", "203.0.113.7")
		}
		if id != "" {
			req.SetBasicAuth(id, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	status, body := get(false, "", "")
	if status != http.StatusOK || !strings.Contains(body, `"client_id":"`+testkit.UpstreamClientID+`"`) ||
		!strings.Contains(body, `"introspection_client_id":"`+testkit.ResourceClientID+`"`) || !strings.Contains(body, `"client":{"ok":true`) {
		t.Fatalf("local status: %d %s", status, body)
	}
	for _, secret := range []string{testkit.UpstreamSecret, testkit.ResourceSecret} {
		if strings.Contains(body, secret) {
			t.Fatal("status shows a secret")
		}
	}
	if status, _ := get(true, "", ""); status != http.StatusUnauthorized {
		t.Fatalf("forwarded request without credentials: %d, want 401", status)
	}
	if status, _ := get(true, testkit.ResourceClientID, "wrong"); status != http.StatusUnauthorized {
		t.Fatalf("wrong credentials: %d", status)
	}
	if status, _ := get(true, testkit.ResourceClientID, testkit.ResourceSecret); status != http.StatusOK {
		t.Fatalf("with the introspection credentials: %d", status)
	}
}

// A request with any proxy header (here only X-Forwarded-Host, as some
// proxies send) is not local: /status wants the introspection credentials,
// and wrong ones are throttled like every failed client authentication.
func TestStatus_ForwardedNeedsCredentialsAndFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Limits = authserver.Limits{FailedAuth: 3} }})
	get := func(header, secret string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, stack.Auth.URL()+"/status", nil)
		req.Header.Set(header, "mcp-auth.example.com")
		if secret != "" {
			req.SetBasicAuth(testkit.ResourceClientID, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	for _, h := range []string{"X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "Forwarded"} {
		if status, _ := get(h, ""); status != http.StatusUnauthorized {
			t.Fatalf("with %s and no credentials: %d, want 401", h, status)
		}
	}
	for i := range 3 {
		if status, _ := get("X-Forwarded-Host", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("wrong credentials %d: %d, want 401", i+1, status)
		}
	}
	if status, retry := get("X-Forwarded-Host", "wrong"); status != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("wrong credentials after 3 failures: %d (Retry-After %q), want 429", status, retry)
	}
	if status, _ := get("X-Forwarded-Host", testkit.ResourceSecret); status != http.StatusOK {
		t.Fatalf("the introspection credentials: %d, want 200", status)
	}
}

// /status names no user: a sign-in refused by the allow-list shows there
// as access_denied for its client, without the account's address or name
// (the user's own page and the audit log have them).
func TestStatus_NamesNoUser(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Admission = authserver.Admission{Users: []string{"someone-else@example.org"}}
	}})
	c := stack.PublicClient(t)
	b := testkit.NewBrowser(t, c.RedirectURI)
	p := b.Get(c.AuthorizeURL(nil).URL)
	for step := 0; step < 5 && p.Status == http.StatusOK; step++ {
		if strings.HasSuffix(p.URL.Path, "/login") {
			p = b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": testkit.DemoPassword})
			continue
		}
		p = b.Submit(p, "approve", nil)
	}
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, testkit.DemoEmail) {
		t.Fatalf("the refused sign-in ended %d at %s (the user's own page names the account)", p.Status, p.URL)
	}
	status, body := get(t, stack.Auth.URL()+"/status")
	if status != http.StatusOK || !strings.Contains(body, `"last_sign_in_failure":{`) || !strings.Contains(body, `"error":"access_denied"`) ||
		!strings.Contains(body, c.ClientID) {
		t.Fatalf("status after a refused sign-in: %d %s", status, body)
	}
	if strings.Contains(body, testkit.DemoEmail) || strings.Contains(strings.ToLower(body), "demo@") {
		t.Fatalf("/status names the user: %s", body)
	}
}

// The issuer URL opened in a browser (tmcp dev's banner links it) shows
// what the server is, not a 404; other unknown paths stay 404.
func TestHome_SaysWhatTheServerIs(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	resp, err := http.Get(stack.Auth.URL() + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "tmcp authorization server") ||
		!strings.Contains(string(body), "/.well-known/oauth-authorization-server") || !strings.Contains(string(body), "/assets/style.css") {
		t.Fatalf("home: %d\n%s", resp.StatusCode, body)
	}
	if resp, err := http.Get(stack.Auth.URL() + "/nothing-here"); err != nil || resp.StatusCode != http.StatusNotFound {
		t.Fatalf("unknown path: %v %v", resp.StatusCode, err)
	}
}

// The ops listener: /metrics answers only there, never on the public
// port; /status there too; health and readiness on both.
func TestOps_MetricsOnlyOnOpsListener(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true,
		Mutate:         func(c *authserver.Config) { c.OpsAddr = "127.0.0.1:0" },
		MutateResource: func(c *resource.Config) { c.OpsAddr = "127.0.0.1:0" }})
	origin := func(u string) string { p, _ := url.Parse(u); return p.Scheme + "://" + p.Host }
	for _, srv := range []struct{ name, public, ops string }{
		{"auth", stack.Auth.URL(), stack.Auth.OpsURL()},
		{"resource", origin(stack.Resource.URL()), stack.Resource.OpsURL()},
	} {
		if srv.ops == "" || srv.ops == srv.public {
			t.Fatalf("%s: ops listener %q, public %q", srv.name, srv.ops, srv.public)
		}
		if status, _ := get(t, srv.public+"/metrics"); status != http.StatusNotFound {
			t.Errorf("%s: public /metrics answered %d, want 404", srv.name, status)
		}
		if status, body := get(t, srv.ops+"/metrics"); status != 200 || !strings.Contains(body, "tmcp_http_requests_total") {
			t.Errorf("%s: ops /metrics answered %d", srv.name, status)
		}
		if status, body := get(t, srv.ops+"/status"); status != 200 || !strings.Contains(body, `"server"`) {
			t.Errorf("%s: ops /status answered %d: %s", srv.name, status, body)
		}
		for _, base := range []string{srv.public, srv.ops} {
			for _, path := range []string{"/healthz", "/readyz"} {
				if status, _ := get(t, base+path); status != 200 {
					t.Errorf("%s: %s%s answered %d", srv.name, base, path, status)
				}
			}
		}
	}
}
