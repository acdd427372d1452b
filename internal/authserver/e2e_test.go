package authserver_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// TestEndToEnd_FullFlowAsAnMCPClient runs discovery, registration, the
// browser sign-in through both consent pages, the code exchange,
// introspection, refresh and revocation against a real sandbox.
func TestEndToEnd_FullFlowAsAnMCPClient(t *testing.T) {
	t.Parallel()
	start := time.Now()
	logs := &testkit.LogBuffer{}
	stack := testkit.StartStack(t, testkit.AuthOptions{Log: logs})
	c := testkit.Discover(t, stack.Auth.URL())
	if c.Meta.Issuer != stack.Auth.URL() || c.Meta.CodeChallengeMethodsSupported[0] != "S256" ||
		!c.Meta.AuthorizationResponseIssParameterSupported {
		t.Fatalf("metadata = %+v", c.Meta)
	}
	c.RegisterPublic()

	b := testkit.NewBrowser(t, c.RedirectURI)
	authz := c.AuthorizeURL(nil)
	back := testkit.SignIn(t, b, authz.URL)
	q := back.Query()
	if q.Get("state") != authz.State {
		t.Fatalf("state = %q, want %q", q.Get("state"), authz.State)
	}
	if q.Get("iss") != stack.Auth.URL() {
		t.Fatalf("iss = %q, want %q (RFC 9207)", q.Get("iss"), stack.Auth.URL())
	}
	code := q.Get("code")
	if !strings.HasPrefix(code, "tmcp_ac_") {
		t.Fatalf("code = %q, want a tmcp code", code)
	}

	status, tok := c.Exchange(code, authz.Verifier)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, tok)
	}
	access, _ := tok["access_token"].(string)
	refresh, _ := tok["refresh_token"].(string)
	if !strings.HasPrefix(access, "tmcp_at_") || !strings.HasPrefix(refresh, "tmcp_rt_") ||
		tok["token_type"] != "Bearer" || tok["scope"] != "read write" || tok["expires_in"] != float64(3600) {
		t.Fatalf("token response = %v", tok)
	}

	status, info := c.Introspect(access, testkit.ResourceClientID, testkit.ResourceSecret)
	if status != http.StatusOK || info["active"] != true || info["sub"] != "user-demo@example.com" ||
		info["username"] != testkit.DemoEmail || info["aud"] != testkit.ResourceURL || info["client_id"] != c.ClientID ||
		info["scope"] != "read write" || info["iss"] != stack.Auth.URL() || info["exp"] == nil || info["iat"] == nil {
		t.Fatalf("introspection = %d %v", status, info)
	}

	status, tok2 := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "scope": {"read"}})
	if status != http.StatusOK || tok2["scope"] != "read" {
		t.Fatalf("refresh: %d %v", status, tok2)
	}
	access2, refresh2 := tok2["access_token"].(string), tok2["refresh_token"].(string)
	if access2 == access || refresh2 == refresh || refresh2 == "" {
		t.Fatalf("refresh did not rotate: %v", tok2)
	}
	if _, info := c.Introspect(access2, testkit.ResourceClientID, testkit.ResourceSecret); info["active"] != true || info["scope"] != "read" {
		t.Fatalf("refreshed token introspection = %v", info)
	}

	status, _ = c.Form(c.Meta.RevocationEndpoint, url.Values{"token": {refresh2}, "token_type_hint": {"refresh_token"}})
	if status != http.StatusOK {
		t.Fatalf("revoke: %d", status)
	}
	for _, tk := range []string{access, access2} {
		if _, info := c.Introspect(tk, testkit.ResourceClientID, testkit.ResourceSecret); info["active"] != false {
			t.Fatalf("token still active after revoking its refresh token: %v", info)
		}
	}
	t.Logf("end-to-end flow took %v", time.Since(start))

	// Debug logs show each step but never a secret.
	secretsSeen := []string{code, authz.Verifier, access, refresh, access2, refresh2, testkit.UpstreamSecret,
		testkit.ResourceSecret, "tm_at_", "tm_rt_", "tm_ac_", "tmcp_at_", "tmcp_rt_", "tmcp_ac_"}
	for _, u := range []string{stack.Auth.URL(), stack.Sandbox.URL()} {
		pu, _ := url.Parse(u)
		for _, ck := range b.Client.Jar.Cookies(pu) {
			secretsSeen = append(secretsSeen, ck.Value)
		}
	}
	out := logs.String()
	if !strings.Contains(out, "level=DEBUG") || !strings.Contains(out, "authorization granted") {
		t.Fatalf("debug logs are missing the flow's steps:\n%s", out)
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, `msg="authorization granted"`) && !strings.Contains(line, "request_id=") {
			t.Errorf("a request's log line has no request id: %s", line)
		}
	}
	for _, s := range secretsSeen {
		if strings.Contains(out, s) {
			t.Errorf("a secret (%.10s…) appears in the logs", s)
		}
	}
}
