package oauth

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// RFC 7636 Appendix B's example.
func TestPKCE_RFC7636AppendixB(t *testing.T) {
	verifier := "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	challenge := "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	if got := S256Challenge(verifier); got != challenge {
		t.Fatalf("S256Challenge = %s, want %s", got, challenge)
	}
	if !VerifyS256(verifier, challenge) {
		t.Fatal("the RFC's own pair does not verify")
	}
	if !ValidChallenge(challenge) {
		t.Fatal("the RFC's challenge is not valid")
	}
}

func TestPKCE_VerifierRules(t *testing.T) {
	cases := map[string]bool{
		strings.Repeat("a", 42):          false, // too short
		strings.Repeat("a", 43):          true,
		strings.Repeat("a", 128):         true,
		strings.Repeat("a", 129):         false, // too long
		strings.Repeat("a", 42) + "+":    false, // not unreserved
		strings.Repeat("A", 40) + "-._~": true,
		strings.Repeat("a", 42) + " ":    false,
	}
	for v, want := range cases {
		if got := ValidVerifier(v); got != want {
			t.Errorf("ValidVerifier(%q) = %v, want %v", v, got, want)
		}
	}
	if VerifyS256(strings.Repeat("a", 43), S256Challenge(strings.Repeat("b", 43))) {
		t.Error("a verifier matched another verifier's challenge")
	}
	if VerifyS256("short", S256Challenge("short")) {
		t.Error("a verifier shorter than RFC 7636 allows verified")
	}
}

func TestMatchRedirectURI_ExactOrLoopbackAnyPort(t *testing.T) {
	reg := []string{"https://app.example/cb", "http://127.0.0.1:3000/callback", "http://localhost/cb", "cursor://anysphere.cursor-retrieval/oauth/cb"}
	cases := map[string]bool{
		"https://app.example/cb":                        true,
		"https://app.example/cb/":                       false,
		"https://app.example/cb?x=1":                    false,
		"https://APP.example/cb":                        false,
		"https://app.example.evil/cb":                   false,
		"http://app.example/cb":                         false,
		"http://127.0.0.1:4567/callback":                true, // RFC 8252 §7.3
		"http://127.0.0.1/callback":                     true,
		"http://127.0.0.1:4567/other":                   false,
		"http://localhost:9999/cb":                      true,
		"http://[::1]:9999/callback":                    false, // another host than registered
		"https://127.0.0.1:4567/callback":               false,
		"cursor://anysphere.cursor-retrieval/oauth/cb":  true,
		"cursor://anysphere.cursor-retrieval/oauth/cb2": false,
	}
	for uri, want := range cases {
		if got := MatchRedirectURI(reg, uri); got != want {
			t.Errorf("MatchRedirectURI(%q) = %v, want %v", uri, got, want)
		}
	}
}

func TestValidateRedirectURI_RegistrationPolicy(t *testing.T) {
	ok := []string{"https://app.example/cb", "http://127.0.0.1:3000/cb", "http://localhost/cb", "http://[::1]:80/cb", "com.example.app:/oauth2redirect", "cursor://x/cb"}
	bad := []string{"javascript:alert(1)", "JavaScript:alert(1)", "data:text/html,x", "file:///etc/passwd", "http://example.com/cb",
		"https://app.example/cb#frag", "/relative", "https://user:pw@app.example/cb", "https://*.example/cb", "vbscript:x", "https:///nohost"}
	for _, u := range ok {
		if err := ValidateRedirectURI(u); err != nil {
			t.Errorf("ValidateRedirectURI(%q) = %v, want ok", u, err)
		}
	}
	for _, u := range bad {
		if err := ValidateRedirectURI(u); err == nil {
			t.Errorf("ValidateRedirectURI(%q) accepted", u)
		}
	}
}

func TestReadClientCredentials_Methods(t *testing.T) {
	form := func(body string, basicUser, basicPass string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if basicUser != "" {
			r.SetBasicAuth(basicUser, basicPass)
		}
		if err := r.ParseForm(); err != nil {
			t.Fatal(err)
		}
		return r
	}
	// RFC 6749 §2.3.1: Basic credentials are form-urlencoded first.
	c, err := ReadClientCredentials(form("", url.QueryEscape("id:with colon"), url.QueryEscape("s%cr+t")))
	if err != nil || c.ID != "id:with colon" || c.Secret != "s%cr+t" || c.Method != AuthMethodBasic {
		t.Fatalf("basic = %+v, %v", c, err)
	}
	c, err = ReadClientCredentials(form("client_id=a&client_secret=b", "", ""))
	if err != nil || c.ID != "a" || c.Secret != "b" || c.Method != AuthMethodPost {
		t.Fatalf("post = %+v, %v", c, err)
	}
	c, err = ReadClientCredentials(form("client_id=a", "", ""))
	if err != nil || c.Method != AuthMethodNone {
		t.Fatalf("none = %+v, %v", c, err)
	}
	if _, err := ReadClientCredentials(form("client_secret=b", "a", "b")); err == nil || err.Code != CodeInvalidRequest {
		t.Fatalf("two methods at once = %v, want invalid_request", err)
	}
	if _, err := ReadClientCredentials(form("client_id=other", "a", "b")); err == nil {
		t.Fatal("client_id differing from Basic accepted")
	}
	if _, err := ReadClientCredentials(form("", "", "")); err == nil || err.Code != CodeInvalidClient {
		t.Fatalf("no credentials = %v, want invalid_client", err)
	}
}

func TestError_RedirectKeepsClientQuery(t *testing.T) {
	got := InvalidScope("nope").RedirectURL("https://app.example/cb?keep=1", "st", "https://as.example")
	u, _ := url.Parse(got)
	q := u.Query()
	if q.Get("keep") != "1" || q.Get("error") != "invalid_scope" || q.Get("state") != "st" || q.Get("iss") != "https://as.example" {
		t.Fatalf("RedirectURL = %s", got)
	}
}

func TestMetadataPaths_RFC8414Insertion(t *testing.T) {
	if got := MetadataPaths("https://as.example"); len(got) != 2 || got[0] != WellKnownAuthorizationServer {
		t.Fatalf("no path: %v", got)
	}
	got := MetadataPaths("https://as.example/tenant/1")
	want := []string{"/.well-known/oauth-authorization-server/tenant/1", "/.well-known/openid-configuration/tenant/1", "/tenant/1/.well-known/openid-configuration"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("with path: %v, want %v", got, want)
	}
}

func TestScope_ParseAndSubset(t *testing.T) {
	if got := ParseScope("  read write read "); JoinScope(got) != "read write" {
		t.Fatalf("ParseScope = %v", got)
	}
	if !ScopeSubset([]string{"read"}, []string{"read", "write"}) || ScopeSubset([]string{"admin"}, []string{"read"}) {
		t.Fatal("ScopeSubset wrong")
	}
	if ValidScopeToken(`a"b`) || !ValidScopeToken("mcp:tools") {
		t.Fatal("ValidScopeToken wrong")
	}
}

func TestReadClientCredentials_BasicWithoutSecretIsPublic(t *testing.T) {
	r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader("grant_type=x"))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth("public-client", "")
	_ = r.ParseForm()
	c, err := ReadClientCredentials(r)
	if err != nil || c.ID != "public-client" || c.Method != AuthMethodNone || c.Secret != "" {
		t.Fatalf("Basic with an empty password = %+v, %v; want a public client", c, err)
	}
}

// The default policy registers https, loopback http and private-use
// schemes in reverse domain name form (RFC 8252 §7.1); others only when
// configured, and never a scheme OAuth 2.1 forbids.
func TestRedirectPolicy_DefaultAndExtra(t *testing.T) {
	def := RedirectPolicy{}
	for _, u := range []string{"https://app.example/cb", "http://127.0.0.1:3000/cb", "com.example.app:/oauth2redirect", "com.example-app.ide://cb"} {
		if err := def.Check(u); err != nil {
			t.Errorf("default policy refused %q: %v", u, err)
		}
	}
	for _, u := range []string{"ws://127.0.0.1/cb", "ftp://files.example/cb", "chrome://settings", "view-source:https://a.example/", "mailto:a@example.com",
		"x-javascript:alert(1)", "myapp:evil?u=https://good.example.com/cb", "cursor://anysphere.cursor-mcp/oauth/callback", "com..app:/cb", "com.example_app:/cb"} {
		if err := def.Check(u); err == nil {
			t.Errorf("default policy accepted %q", u)
		}
	}
	extra := RedirectPolicy{Extra: []string{"cursor", "javascript"}}
	if err := extra.Check("cursor://anysphere.cursor-mcp/oauth/callback"); err != nil {
		t.Errorf("a configured scheme was refused: %v", err)
	}
	if err := extra.Check("javascript:alert(1)"); err == nil {
		t.Error("configuring a dangerous scheme made it acceptable")
	}
	if err := (RedirectPolicy{Extra: []string{"*"}}).Check("ws://127.0.0.1/cb"); err != nil {
		t.Errorf("* refused a scheme OAuth 2.1 allows: %v", err)
	}
}

// A fragment never matches, even against a loopback registration whose
// port is ignored.
func TestMatchRedirectURI_RefusesFragments(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:4567/callback#x", "http://127.0.0.1/callback#", "https://app.example/cb#frag"} {
		if MatchRedirectURI([]string{"http://127.0.0.1/callback", "https://app.example/cb#frag"}, u) {
			t.Errorf("MatchRedirectURI accepted %q", u)
		}
	}
}

func TestRedirectTarget_NamesWhereTheBrowserGoes(t *testing.T) {
	cases := map[string]string{
		"https://app.example/cb":                   "app.example",
		"http://127.0.0.1:3000/cb":                 "an application on this device (127.0.0.1:3000)",
		"myapp:evil?u=https://good.example.com/cb": "the application on this device that opens myapp: links",
		"com.example.app:/cb":                      "the application on this device that opens com.example.app: links",
	}
	for u, want := range cases {
		if got := RedirectTarget(u); got != want {
			t.Errorf("RedirectTarget(%q) = %q, want %q", u, got, want)
		}
	}
}

func TestGrants_ForAndTypes(t *testing.T) {
	grants := Grants[string]{"refresh_token": "refresh", "authorization_code": "code"}
	form := func(gt string) *http.Request {
		r := httptest.NewRequest(http.MethodPost, "/token", nil)
		r.PostForm = url.Values{}
		if gt != "" {
			r.PostForm.Set("grant_type", gt)
		}
		return r
	}
	if h, oerr := grants.For(form("refresh_token")); oerr != nil || h != "refresh" {
		t.Fatalf("refresh_token → %q, %v", h, oerr)
	}
	if _, oerr := grants.For(form("")); oerr == nil || oerr.Code != CodeInvalidRequest {
		t.Fatalf("no grant_type → %v, want invalid_request", oerr)
	}
	_, oerr := grants.For(form("password"))
	if oerr == nil || oerr.Code != CodeUnsupportedGrantType ||
		oerr.Description != "supported grant types: authorization_code, refresh_token" {
		t.Fatalf("password → %+v", oerr)
	}
	if got := grants.Types(); !slices.Equal(got, []string{"authorization_code", "refresh_token"}) {
		t.Fatalf("Types() = %v", got)
	}
}

// RFC 9110 §10.2.3: every 503 says when to try again, whether or not the
// error names its own Retry-After; other statuses get none unasked.
func TestWriteJSON_Every503SaysWhenToRetry(t *testing.T) {
	cases := []struct {
		e    *Error
		want string
	}{
		{NewError(CodeTemporarilyUnavailable, "down"), DefaultRetryAfter},
		{&Error{Code: CodeTemporarilyUnavailable, Status: http.StatusServiceUnavailable, RetryAfter: "30"}, "30"},
		{InvalidGrant("no"), ""},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		WriteJSON(rec, nil, tc.e)
		if got := rec.Header().Get("Retry-After"); got != tc.want {
			t.Errorf("%s %d: Retry-After %q, want %q", tc.e.Code, rec.Code, got, tc.want)
		}
	}
}
