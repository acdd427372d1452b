package authserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// signedIn starts a stack, registers a public client and signs in once.
type signedIn struct {
	stack *testkit.Stack
	c     *testkit.OAuthClient
	authz testkit.Authz
	code  string
}

func signIn(t *testing.T, opts testkit.AuthOptions) *signedIn {
	t.Helper()
	stack := testkit.StartStack(t, opts)
	c := stack.PublicClient(t)
	authz := c.AuthorizeURL(nil)
	back := testkit.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), authz.URL)
	return &signedIn{stack: stack, c: c, authz: authz, code: back.Query().Get("code")}
}

func (s *signedIn) tokens(t *testing.T) (access, refresh string) {
	t.Helper()
	status, tok := s.c.Exchange(s.code, s.authz.Verifier)
	if status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, tok)
	}
	return tok["access_token"].(string), tok["refresh_token"].(string)
}

func (s *signedIn) active(t *testing.T, token string) bool {
	t.Helper()
	_, info := s.c.Introspect(token, testkit.ResourceClientID, testkit.ResourceSecret)
	return info["active"] == true
}

func wantOAuthError(t *testing.T, status int, body map[string]any, wantStatus int, wantCode string) {
	t.Helper()
	if status != wantStatus || body["error"] != wantCode {
		t.Fatalf("got %d %v, want %d error=%s", status, body, wantStatus, wantCode)
	}
	if d, _ := body["error_description"].(string); d == "" {
		t.Fatalf("error %s has no description", wantCode)
	}
}

// redirectError fetches an authorization URL that must fail with a
// redirect to the client carrying error, state and iss.
func redirectError(t *testing.T, c *testkit.OAuthClient, issuer string, params map[string]string, wantCode string) {
	t.Helper()
	// Errors go back to a client this browser's user approved before
	// (RFC 9700 §4.11.2); approve it first.
	b := testkit.NewBrowser(t, c.RedirectURI)
	if consent := b.Get(c.AuthorizeURL(nil).URL); consent.Status == http.StatusOK {
		b.Submit(consent, "approve", nil)
	}
	authz := c.AuthorizeURL(params)
	p := b.Get(authz.URL)
	loc := p.Location()
	if p.Status != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), c.RedirectURI) {
		t.Fatalf("want a redirect to the client, got %d %s", p.Status, p.Header.Get("Location"))
	}
	q := loc.Query()
	if q.Get("error") != wantCode || q.Get("state") != authz.State || q.Get("iss") != issuer || q.Get("error_description") == "" {
		t.Fatalf("redirect = %s, want error=%s with state and iss", loc, wantCode)
	}
}

// pageError fetches an authorization URL that must fail on an error page
// without redirecting anywhere.
func pageError(t *testing.T, u, wantText string) {
	t.Helper()
	p := testkit.NewBrowser(t, "").Get(u)
	if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" || !strings.Contains(p.Body, wantText) {
		t.Fatalf("want a 400 page saying %q, got %d %s\n%s", wantText, p.Status, p.Header.Get("Location"), p.Body)
	}
}

func TestAuthorize_RefusesBadRequests(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	iss := stack.Auth.URL()

	// RFC 6749 §4.1.2.1: once client and redirect URI are known, errors
	// go back to the client, with state and (RFC 9207) iss.
	for _, tc := range []struct {
		name   string
		params map[string]string
		code   string
	}{
		{"PKCEMissing", map[string]string{"code_challenge": "", "code_challenge_method": ""}, "invalid_request"},
		{"PKCEPlain", map[string]string{"code_challenge_method": "plain"}, "invalid_request"},
		{"PKCEMethodOmittedMeansPlain", map[string]string{"code_challenge_method": ""}, "invalid_request"},
		{"PKCEMalformedChallenge", map[string]string{"code_challenge": "short"}, "invalid_request"},
		{"ResponseTypeToken", map[string]string{"response_type": "token"}, "unsupported_response_type"},
		{"UnknownScope", map[string]string{"scope": "read admin"}, "invalid_scope"},
		{"ResourceOfAnotherServer", map[string]string{"resource": "https://evil.example/mcp"}, "invalid_target"},
		{"ResourceWithFragment", map[string]string{"resource": testkit.ResourceURL + "#x"}, "invalid_target"},
	} {
		t.Run(tc.name, func(t *testing.T) { redirectError(t, c, iss, tc.params, tc.code) })
	}
	t.Run("RepeatedParameter", func(t *testing.T) {
		b := testkit.NewBrowser(t, c.RedirectURI)
		b.Submit(b.Get(c.AuthorizeURL(nil).URL), "approve", nil)
		authz := c.AuthorizeURL(nil)
		p := b.Get(authz.URL + "&scope=write")
		if loc := p.Location(); loc == nil || loc.Query().Get("error") != "invalid_request" {
			t.Fatalf("repeated scope: %d %s", p.Status, p.Header.Get("Location"))
		}
	})
	t.Run("UnknownClientGetsAPageNotARedirect", func(t *testing.T) {
		pageError(t, c.AuthorizeURL(map[string]string{"client_id": "tmcp_ci_nobody"}).URL, "not registered with this server")
	})
	t.Run("RedirectMismatchGetsAPageNotARedirect", func(t *testing.T) {
		pageError(t, c.AuthorizeURL(map[string]string{"redirect_uri": "https://attacker.example/cb"}).URL, "redirect URI does not match")
	})
	t.Run("LookAlikeRedirectPathIsRefused", func(t *testing.T) {
		pageError(t, c.AuthorizeURL(map[string]string{"redirect_uri": testkit.ClientRedirect + "/../evil"}).URL, "redirect URI does not match")
	})
	t.Run("LoopbackRedirectMatchesOnAnyPort", func(t *testing.T) {
		p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(map[string]string{"redirect_uri": "http://127.0.0.1:41234/callback"}).URL)
		if p.Status != http.StatusOK || !strings.Contains(p.Body, "http://127.0.0.1:41234/callback") {
			t.Fatalf("loopback redirect on another port: %d", p.Status)
		}
	})
}

func TestConsent_PageIsProtected(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	b := testkit.NewBrowser(t, stack.Sandbox.URL())
	p := b.Get(c.AuthorizeURL(nil).URL)
	if p.Status != http.StatusOK {
		t.Fatalf("consent page: %d", p.Status)
	}
	for h, want := range map[string]string{"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"} {
		if !strings.Contains(p.Header.Get(h), want) {
			t.Errorf("%s = %q, want %q", h, p.Header.Get(h), want)
		}
	}
	for _, want := range []string{"Test MCP Client", c.ClientID, testkit.ClientRedirect, "read", "write", testkit.ResourceURL} {
		if !strings.Contains(p.Body, want) {
			t.Errorf("consent page does not name %q", want)
		}
	}
	form, err := p.FindForm("approve")
	if err != nil {
		t.Fatal(err)
	}
	t.Run("AlteredScopeIsRefused", func(t *testing.T) {
		v := cloneValues(form.Values)
		v.Set("scope", "read")
		if got := b.Post(p.URL, form.Action, v); got.Status != http.StatusForbidden {
			t.Fatalf("altered form: %d", got.Status)
		}
	})
	t.Run("FormFromAnotherBrowserIsRefused", func(t *testing.T) {
		other := testkit.NewBrowser(t, stack.Sandbox.URL())
		if got := other.Post(p.URL, form.Action, cloneValues(form.Values)); got.Status != http.StatusForbidden {
			t.Fatalf("form replayed from another browser: %d", got.Status)
		}
	})
	t.Run("DenyRedirectsAccessDenied", func(t *testing.T) {
		v := cloneValues(form.Values)
		v.Set("decision", "deny")
		b.StopAt = c.RedirectURI
		defer func() { b.StopAt = stack.Sandbox.URL() }()
		got := b.Post(p.URL, form.Action, v)
		if loc := got.Location(); loc == nil || loc.Query().Get("error") != "access_denied" {
			t.Fatalf("deny: %d %s", got.Status, got.Header.Get("Location"))
		}
	})
	t.Run("ApprovalIsRememberedForThisBrowser", func(t *testing.T) {
		got := b.Post(p.URL, form.Action, cloneValues(form.Values))
		if loc := got.Location(); loc == nil || !strings.HasPrefix(loc.String(), stack.Sandbox.URL()) {
			t.Fatalf("approve did not go to TaskManager: %d %s", got.Status, got.Header.Get("Location"))
		}
		again := b.Get(c.AuthorizeURL(nil).URL)
		if loc := again.Location(); again.Status != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), stack.Sandbox.URL()) {
			t.Fatalf("a remembered approval still showed the consent page: %d", again.Status)
		}
		wider := b.Get(c.AuthorizeURL(map[string]string{"redirect_uri": "http://127.0.0.1:5555/callback"}).URL)
		if wider.Status != http.StatusOK {
			t.Fatalf("another redirect URI skipped consent: %d", wider.Status)
		}
		// Consent is remembered per MCP server too (the resource).
		otherServer := b.Get(c.AuthorizeURL(map[string]string{"resource": "http://localhost:8002/mcp"}).URL)
		if otherServer.Status != http.StatusOK || !strings.Contains(otherServer.Body, "localhost:8002") {
			t.Fatalf("another MCP server skipped consent: %d", otherServer.Status)
		}
	})
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// toCallback runs a sign-in up to tmcp's own callback and returns the
// browser and the callback URL TaskManager sent it to.
func toCallback(t *testing.T, stack *testkit.Stack, c *testkit.OAuthClient) (*testkit.Browser, testkit.Authz, string) {
	t.Helper()
	authz := c.AuthorizeURL(nil)
	b := testkit.NewBrowser(t, stack.Auth.URL()+"/oauth/callback")
	back := testkit.SignIn(t, b, authz.URL)
	b.StopAt = c.RedirectURI
	return b, authz, back.String()
}

func TestCallback_StateRules(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	stack := testkit.StartStack(t, testkit.AuthOptions{Now: clock.Now})
	c := stack.PublicClient(t)

	t.Run("StateIsSingleUse", func(t *testing.T) {
		b, _, cb := toCallback(t, stack, c)
		if p := b.Get(cb); p.Status != http.StatusFound {
			t.Fatalf("first callback: %d %s", p.Status, p.Body)
		}
		if p := b.Get(cb); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "already completed") {
			t.Fatalf("reused state: %d %s", p.Status, p.Body)
		}
	})
	t.Run("StateFromAnotherBrowserIsRefused", func(t *testing.T) {
		_, _, cb := toCallback(t, stack, c)
		if p := testkit.NewBrowser(t, c.RedirectURI).Get(cb); p.Status != http.StatusForbidden {
			t.Fatalf("callback in another browser: %d", p.Status)
		}
	})
	t.Run("MissingOrUnknownState", func(t *testing.T) {
		b := testkit.NewBrowser(t, c.RedirectURI)
		if p := b.Get(stack.Auth.URL() + "/oauth/callback?code=x"); p.Status != http.StatusBadRequest {
			t.Fatalf("no state: %d", p.Status)
		}
		if p := b.Get(stack.Auth.URL() + "/oauth/callback?code=x&state=forged"); p.Status != http.StatusBadRequest {
			t.Fatalf("forged state: %d", p.Status)
		}
	})
	t.Run("StateExpiresAfterTenMinutes", func(t *testing.T) {
		b, _, cb := toCallback(t, stack, c)
		clock.Advance(10*time.Minute + time.Second)
		if p := b.Get(cb); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "longer than allowed") {
			t.Fatalf("expired state: %d %s", p.Status, p.Body)
		}
	})
}

func TestToken_CodeRules(t *testing.T) {
	t.Parallel()
	t.Run("CodeReplayRevokesFamily", func(t *testing.T) {
		t.Parallel()
		s := signIn(t, testkit.AuthOptions{})
		access, refresh := s.tokens(t)
		status, body := s.c.Exchange(s.code, s.authz.Verifier)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if s.active(t, access) {
			t.Fatal("access token still active after its code was replayed")
		}
		status, body = s.c.Form(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("WrongVerifier", func(t *testing.T) {
		t.Parallel()
		s := signIn(t, testkit.AuthOptions{})
		other := s.c.AuthorizeURL(nil) // a verifier from another flow
		status, body := s.c.Exchange(s.code, other.Verifier)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		// The code is spent: the right verifier no longer helps.
		status, body = s.c.Exchange(s.code, s.authz.Verifier)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	// Requests refused before the code is redeemed: each asks with the
	// right code and verifier but one field missing or wrong.
	for name, tc := range map[string]struct {
		form      url.Values
		want      string
		codeAfter bool // the code still redeems afterwards
	}{
		"MissingVerifier":     {url.Values{"code_verifier": nil}, "invalid_request", true},
		"RedirectURIMismatch": {url.Values{"redirect_uri": {"http://127.0.0.1:3999/other"}}, "invalid_grant", false},
		"ResourceMismatch":    {url.Values{"resource": {"http://localhost:8002/mcp"}}, "invalid_target", false},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s := signIn(t, testkit.AuthOptions{})
			form := url.Values{"grant_type": {"authorization_code"}, "code": {s.code}, "code_verifier": {s.authz.Verifier}}
			for k, v := range tc.form {
				form[k] = v
				if v == nil {
					delete(form, k)
				}
			}
			status, body := s.c.Form(s.c.Meta.TokenEndpoint, form)
			wantOAuthError(t, status, body, http.StatusBadRequest, tc.want)
			if tc.codeAfter {
				s.tokens(t) // a request refused before the code was read leaves it usable
			}
		})
	}
	t.Run("CodeOfAnotherClient", func(t *testing.T) {
		t.Parallel()
		s := signIn(t, testkit.AuthOptions{})
		thief := testkit.Discover(t, s.stack.Auth.URL())
		thief.RegisterPublic()
		status, body := thief.Exchange(s.code, s.authz.Verifier)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("CodeExpires", func(t *testing.T) {
		t.Parallel()
		clock := testkit.NewClock()
		s := signIn(t, testkit.AuthOptions{Now: clock.Now})
		clock.Advance(61 * time.Second)
		status, body := s.c.Exchange(s.code, s.authz.Verifier)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
}

func TestToken_RefreshRules(t *testing.T) {
	t.Parallel()
	refresh := func(s *signedIn, token string, extra url.Values) (int, map[string]any) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}}
		for k, v := range extra {
			form[k] = v
		}
		return s.c.Form(s.c.Meta.TokenEndpoint, form)
	}
	t.Run("ReuseAfterGraceRevokesFamily", func(t *testing.T) {
		t.Parallel()
		clock := testkit.NewClock()
		s := signIn(t, testkit.AuthOptions{Now: clock.Now})
		_, rt := s.tokens(t)
		status, tok := refresh(s, rt, nil)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, tok)
		}
		clock.Advance(11 * time.Second)
		status, body := refresh(s, rt, nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if s.active(t, tok["access_token"].(string)) {
			t.Fatal("the rotated family's access token survived reuse")
		}
		status, body = refresh(s, tok["refresh_token"].(string), nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	// The sweep deletes a rotated token's row once its grace and window
	// have passed; its replay still names its family and revokes it.
	t.Run("ReuseAfterTheSweepRevokesFamily", func(t *testing.T) {
		t.Parallel()
		clock := testkit.NewClock()
		s := signIn(t, testkit.AuthOptions{Now: clock.Now})
		_, rt := s.tokens(t)
		status, tok := refresh(s, rt, nil)
		if status != http.StatusOK {
			t.Fatalf("refresh: %d %v", status, tok)
		}
		clock.Advance(2 * time.Minute)
		s.stack.Auth.Sweep(context.Background())
		if _, err := s.stack.Store.GetToken(context.Background(), secrets.Hash(rt)); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the rotated token's row outlived its window: %v", err)
		}
		status, body := refresh(s, rt, nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if s.active(t, tok["access_token"].(string)) {
			t.Fatal("the rotated family's access token survived a replay of its swept token")
		}
		status, body = refresh(s, tok["refresh_token"].(string), nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	// A refresh token whose family name was forged is unknown, and
	// revokes nothing.
	t.Run("ForgedFamilyRevokesNothing", func(t *testing.T) {
		t.Parallel()
		s := signIn(t, testkit.AuthOptions{})
		_, rt := s.tokens(t)
		parts := strings.Split(rt, ".")
		if len(parts) != 3 {
			t.Fatalf("refresh token %q does not name its family", parts[0][:8])
		}
		forged := "tmcp_rt_" + strings.Repeat("A", 43) + "." + parts[1] + "." + strings.Repeat("B", 22)
		status, body := refresh(s, forged, nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if status, tok := refresh(s, rt, nil); status != http.StatusOK {
			t.Fatalf("the family did not survive a forged token: %d %v", status, tok)
		}
	})
	t.Run("RetryWithinGraceRepeatsTheAnswer", func(t *testing.T) {
		t.Parallel()
		clock := testkit.NewClock()
		s := signIn(t, testkit.AuthOptions{Now: clock.Now})
		_, rt := s.tokens(t)
		_, first := refresh(s, rt, nil)
		for range 2 {
			clock.Advance(2 * time.Second)
			status, again := refresh(s, rt, nil)
			if status != http.StatusOK || again["access_token"] != first["access_token"] || again["refresh_token"] != first["refresh_token"] {
				t.Fatalf("retry within grace: %d, want the first answer's tokens again", status)
			}
			if again["expires_in"].(float64) >= first["expires_in"].(float64) {
				t.Fatalf("expires_in of the repeated answer = %v, first %v", again["expires_in"], first["expires_in"])
			}
		}
		if !s.active(t, first["access_token"].(string)) {
			t.Fatal("the answer's access token is not active")
		}
		clock.Advance(7 * time.Second) // 11 s after the rotation: grace is 10 s
		status, body := refresh(s, rt, nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if s.active(t, first["access_token"].(string)) {
			t.Fatal("reuse after the grace left the family active")
		}
	})
	t.Run("RetryAfterTheSuccessorWasUsedRevokes", func(t *testing.T) {
		t.Parallel()
		s := signIn(t, testkit.AuthOptions{})
		_, rt := s.tokens(t)
		_, first := refresh(s, rt, nil)
		status, second := refresh(s, first["refresh_token"].(string), nil)
		if status != http.StatusOK {
			t.Fatalf("rotating the successor: %d %v", status, second)
		}
		status, body := refresh(s, rt, nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
		if s.active(t, second["access_token"].(string)) {
			t.Fatal("a replay after the successor was used left the family active")
		}
	})
	t.Run("ScopeEscalationRefused", func(t *testing.T) {
		t.Parallel()
		stack := testkit.StartStack(t, testkit.AuthOptions{})
		c := stack.PublicClient(t)
		tok := c.SignInForTokens(map[string]string{"scope": "read"})
		status, body := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"},
			"refresh_token": {tok["refresh_token"].(string)}, "scope": {"read write"}})
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_scope")
	})
	t.Run("RefreshTokenExpires", func(t *testing.T) {
		t.Parallel()
		clock := testkit.NewClock()
		s := signIn(t, testkit.AuthOptions{Now: clock.Now})
		_, rt := s.tokens(t)
		clock.Advance(31 * 24 * time.Hour)
		status, body := refresh(s, rt, nil)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	})
	t.Run("AccessTokenExpires", func(t *testing.T) {
		t.Parallel()
		clock := testkit.NewClock()
		s := signIn(t, testkit.AuthOptions{Now: clock.Now})
		at, _ := s.tokens(t)
		clock.Advance(time.Hour)
		if s.active(t, at) {
			t.Fatal("access token active past its lifetime")
		}
	})
}

func TestIntrospection_Rules(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	access, refresh := s.tokens(t)
	t.Run("Unauthenticated", func(t *testing.T) {
		status, body := s.c.Introspect(access, "", "")
		wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("WrongSecret", func(t *testing.T) {
		status, body := s.c.Introspect(access, testkit.ResourceClientID, "wrong")
		wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("TokenForAnotherAudienceIsInactive", func(t *testing.T) {
		status, body := s.c.Introspect(access, "other-resource", "other-secret")
		if status != http.StatusOK || body["active"] != false || len(body) != 1 {
			t.Fatalf("introspection by another resource server = %d %v", status, body)
		}
	})
	t.Run("RefreshTokenIsNotAnAccessToken", func(t *testing.T) {
		if s.active(t, refresh) {
			t.Fatal("a refresh token introspected as active")
		}
	})
	t.Run("UnknownToken", func(t *testing.T) {
		if s.active(t, "tmcp_at_forged") {
			t.Fatal("a forged token introspected as active")
		}
	})
}

func TestRevocation_Rules(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	access, refresh := s.tokens(t)
	other := testkit.Discover(t, s.stack.Auth.URL())
	other.RegisterPublic()
	status, body := other.Form(other.Meta.RevocationEndpoint, url.Values{"token": {refresh}})
	wantOAuthError(t, status, body, http.StatusBadRequest, "unauthorized_client")
	if !s.active(t, access) {
		t.Fatal("another client revoked this client's grant")
	}
	if status, _ := s.c.Form(s.c.Meta.RevocationEndpoint, url.Values{"token": {"tmcp_rt_unknown"}}); status != http.StatusOK {
		t.Fatalf("unknown token: %d, want 200 (RFC 7009 §2.2)", status)
	}
	if status, _ := s.c.Form(s.c.Meta.RevocationEndpoint, url.Values{"token": {access}}); status != http.StatusOK {
		t.Fatalf("revoke access token: %d", status)
	}
	if s.active(t, access) {
		t.Fatal("revoked access token still active")
	}
	status, tok := s.c.Form(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if status != http.StatusOK {
		t.Fatalf("revoking an access token should leave the refresh token usable: %d %v", status, tok)
	}
}

func TestClientAuthentication_Rules(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := testkit.Discover(t, stack.Auth.URL())
	out := c.Register(map[string]any{"redirect_uris": []string{testkit.ClientRedirect},
		"grant_types": []string{"authorization_code", "refresh_token"}})
	if out["token_endpoint_auth_method"] != "client_secret_basic" || c.ClientSecret == "" || out["client_secret_expires_at"] != float64(0) {
		t.Fatalf("confidential registration = %v", out)
	}
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}}
	t.Run("UnknownClient", func(t *testing.T) {
		anon := &testkit.OAuthClient{HTTP: c.HTTP, Meta: c.Meta, ClientID: "tmcp_ci_nobody"}
		status, body := formAs(t, anon, "", form)
		wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("ConfidentialClientWithoutSecret", func(t *testing.T) {
		status, body := formAs(t, c, "", form)
		wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
	})
	t.Run("WrongSecretOverBasicGetsChallenge", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ClientID, "wrong")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Basic") {
			t.Fatalf("wrong basic secret: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
		}
	})
	t.Run("SecretInBodyWorksToo", func(t *testing.T) {
		status, body := formAs(t, c, c.ClientSecret, form)
		wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant") // authenticated; the code is bogus
	})
	t.Run("UnsupportedGrantType", func(t *testing.T) {
		status, body := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"password"}})
		wantOAuthError(t, status, body, http.StatusBadRequest, "unsupported_grant_type")
	})
}

// formAs posts form to the token endpoint with client_id (and secret) in
// the body, never HTTP Basic.
func formAs(t *testing.T, c *testkit.OAuthClient, secret string, form url.Values) (int, map[string]any) {
	t.Helper()
	f := cloneValues(form)
	f.Set("client_id", c.ClientID)
	if secret != "" {
		f.Set("client_secret", secret)
	}
	req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(f.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return testkit.Do(t, req)
}

func TestBodies_MalformedAndOversized(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	post := func(path, ctype string, body []byte) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, stack.Auth.URL()+path, bytes.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		return testkit.Do(t, req)
	}
	form := "application/x-www-form-urlencoded"
	cases := []struct {
		name, path, ctype string
		body              []byte
		status            int
		code              string
	}{
		{"TokenMalformedForm", "/oauth/token", form, []byte("grant_type=%zz"), 400, "invalid_request"},
		{"TokenOversized", "/oauth/token", form, []byte("client_id=x&pad=" + strings.Repeat("a", 100<<10)), 413, "invalid_request"},
		{"IntrospectOversized", "/introspect", form, []byte("token=" + strings.Repeat("a", 100<<10)), 413, "invalid_request"},
		{"RegisterNotJSON", "/register", "application/json", []byte("{nope"), 400, "invalid_client_metadata"},
		{"RegisterWrongContentType", "/register", form, []byte("redirect_uris=x"), 400, "invalid_request"},
		{"RegisterOversized", "/register", "application/json", []byte(`{"client_name":"` + strings.Repeat("a", 100<<10) + `"}`), 413, "invalid_client_metadata"},
		{"RegisterJavascriptRedirect", "/register", "application/json", []byte(`{"redirect_uris":["javascript:alert(1)"]}`), 400, "invalid_redirect_uri"},
		{"RegisterDataRedirect", "/register", "application/json", []byte(`{"redirect_uris":["data:text/html,hi"]}`), 400, "invalid_redirect_uri"},
		{"RegisterPlainHTTPRedirect", "/register", "application/json", []byte(`{"redirect_uris":["http://example.com/cb"]}`), 400, "invalid_redirect_uri"},
		{"RegisterFragmentRedirect", "/register", "application/json", []byte(`{"redirect_uris":["https://example.com/cb#x"]}`), 400, "invalid_redirect_uri"},
		{"RegisterNoRedirect", "/register", "application/json", []byte(`{"client_name":"x"}`), 400, "invalid_redirect_uri"},
		{"RegisterImplicitGrant", "/register", "application/json", []byte(`{"redirect_uris":["https://a.example/cb"],"grant_types":["implicit"]}`), 400, "invalid_client_metadata"},
		{"RegisterUnknownScope", "/register", "application/json", []byte(`{"redirect_uris":["https://a.example/cb"],"scope":"admin"}`), 400, "invalid_client_metadata"},
		{"RegisterBadAuthMethod", "/register", "application/json", []byte(`{"redirect_uris":["https://a.example/cb"],"token_endpoint_auth_method":"private_key_jwt"}`), 400, "invalid_client_metadata"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(tc.path, tc.ctype, tc.body)
			wantOAuthError(t, status, body, tc.status, tc.code)
		})
	}
}

// upstreamVariant sends the auth server's token requests to TaskManager
// through proxy, where a test breaks them.
func upstreamVariant(proxy *testkit.Interposer) testkit.AuthOptions {
	return testkit.AuthOptions{Mutate: func(cfg *authserver.Config) {
		cfg.Upstream.TokenEndpoint = proxy.URL + "/api/oauth/token"
	}, OnSandbox: proxy.SetTarget}
}

func TestUpstream_FailuresReachTheClientCleanly(t *testing.T) {
	t.Parallel()
	cases := map[string]struct {
		handler http.HandlerFunc
		code    string
	}{
		"Garbage": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html>surprise</html>")
		}, "temporarily_unavailable"},
		"Down": {func(w http.ResponseWriter, r *http.Request) {
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.Close()
		}, "temporarily_unavailable"},
		"RefusesOurClient": {func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error":"invalid_client","error_description":"bad secret"}`)
		}, "server_error"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			proxy := testkit.Interpose(t)
			proxy.Handle("/api/oauth/token", tc.handler)
			stack := testkit.StartStack(t, upstreamVariant(proxy))
			c := stack.PublicClient(t)
			authz := c.AuthorizeURL(nil)
			back := testkit.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), authz.URL)
			q := back.Query()
			if q.Get("error") != tc.code || q.Get("state") != authz.State || q.Get("iss") != stack.Auth.URL() || q.Get("code") != "" {
				t.Fatalf("callback = %s, want error=%s", back, tc.code)
			}
		})
	}
}

func TestMetadata_DiscoveryPaths(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		c := testkit.Discover(t, stack.Auth.URL())
		status, body := c.JSON(http.MethodGet, stack.Auth.URL()+p, nil)
		if status != http.StatusOK || !strings.Contains(string(body), `"issuer":"`+stack.Auth.URL()+`"`) {
			t.Fatalf("%s: %d %s", p, status, body)
		}
	}
	resp, err := http.Get(stack.Auth.URL() + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if id := resp.Header.Get("X-Request-Id"); len(id) != 16 {
		t.Fatalf("X-Request-Id = %q, want a 16-hex-digit id", id)
	}
	pathStack := testkit.StartStack(t, testkit.AuthOptions{IssuerPath: "/tenant1"})
	base := strings.TrimSuffix(pathStack.Auth.URL(), "/tenant1")
	for _, p := range []string{"/.well-known/oauth-authorization-server/tenant1", "/.well-known/openid-configuration/tenant1", "/tenant1/.well-known/openid-configuration"} {
		req, _ := http.NewRequest(http.MethodGet, base+p, nil)
		status, body := testkit.Do(t, req)
		if status != http.StatusOK || body["issuer"] != pathStack.Auth.URL() || body["token_endpoint"] != pathStack.Auth.URL()+"/oauth/token" {
			t.Fatalf("%s: %d %v", p, status, body)
		}
	}
	// The whole flow works under the issuer's path too.
	pathStack.PublicClient(t).SignInForTokens(nil)
}

func TestFallbackPaths_2025_03_26(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	c.Meta.AuthorizationEndpoint = stack.Auth.URL() + "/authorize"
	c.Meta.TokenEndpoint = stack.Auth.URL() + "/token"
	c.SignInForTokens(nil)
}

func TestCORS_OnlyOnAPIEndpoints(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(cfg *authserver.Config) {
		cfg.CORSOrigins = []string{"https://inspector.example"}
	}})
	base := stack.Auth.URL()
	preflight := func(path, origin string) *http.Response {
		req, _ := http.NewRequest(http.MethodOptions, base+path, nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		req.Header.Set("Access-Control-Request-Headers", "content-type, authorization")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	for _, path := range []string{"/oauth/token", "/token", "/register", "/revoke"} {
		resp := preflight(path, "https://inspector.example")
		if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://inspector.example" ||
			!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") ||
			resp.Header.Get("Access-Control-Allow-Credentials") != "" {
			t.Errorf("preflight %s: %d %v", path, resp.StatusCode, resp.Header)
		}
		if resp := preflight(path, "https://evil.example"); resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("preflight %s from an unlisted origin: %d %v", path, resp.StatusCode, resp.Header)
		}
	}
	// The metadata is open to every origin.
	if resp := preflight("/.well-known/oauth-authorization-server", "https://anyone.example"); resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://anyone.example" {
		t.Errorf("metadata preflight: %d %v", resp.StatusCode, resp.Header)
	}
	// A real cross-origin token call carries the header on its (error) answer.
	req, _ := http.NewRequest(http.MethodPost, base+"/oauth/token", strings.NewReader("grant_type=password"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://inspector.example")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Access-Control-Allow-Origin") != "https://inspector.example" {
		t.Errorf("token answer without CORS header: %v", resp.Header)
	}
	// Navigations never get CORS headers.
	for _, path := range []string{"/oauth/authorize?client_id=x", "/oauth/callback?state=x"} {
		req, _ := http.NewRequest(http.MethodGet, base+path, nil)
		req.Header.Set("Origin", "https://inspector.example")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.Header.Get("Access-Control-Allow-Origin") != "" {
			t.Errorf("%s answered with CORS headers", path)
		}
	}
	if resp := preflight("/oauth/consent", "https://inspector.example"); resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("consent preflight answered with CORS headers")
	}
}

func TestRegistration_Policy(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Registration = authserver.RegistrationPolicy{RedirectSchemes: []string{"https", "http"}, InitialAccessToken: "iat-secret"}
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	register := func(token string, redirect string) (int, map[string]any, string) {
		resp := testkit.Send(t, testkit.BearerRequest(t, http.MethodPost, c.Meta.RegistrationEndpoint, token,
			strings.NewReader(`{"redirect_uris":["`+redirect+`"]}`)))
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body, resp.Header.Get("WWW-Authenticate")
	}
	if status, body, www := register("", "https://a.example/cb"); status != 401 || body["error"] != "invalid_token" || !strings.HasPrefix(www, "Bearer") {
		t.Fatalf("without the initial access token: %d %v %q", status, body, www)
	}
	if status, body, _ := register("wrong", "https://a.example/cb"); status != 401 {
		t.Fatalf("with a wrong initial access token: %d %v", status, body)
	}
	if status, body, _ := register("iat-secret", "https://a.example/cb"); status != 201 {
		t.Fatalf("with the token: %d %v", status, body)
	}
	if status, body, _ := register("iat-secret", "cursor://app/cb"); status != 400 || body["error"] != "invalid_redirect_uri" {
		t.Fatalf("a private-use scheme outside the policy: %d %v", status, body)
	}
}

// A scheme the policy refuses is named on the wire with the setting that
// allows it: the operator reading a client's error knows the fix.
func TestRegistration_RefusedSchemeNamesItsSetting(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := testkit.Discover(t, stack.Auth.URL())
	resp := testkit.Send(t, testkit.BearerRequest(t, http.MethodPost, c.Meta.RegistrationEndpoint, "",
		strings.NewReader(`{"redirect_uris":["cursor://anysphere.cursor-mcp/oauth/callback"]}`)))
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	desc, _ := body["error_description"].(string)
	if resp.StatusCode != 400 || body["error"] != "invalid_redirect_uri" ||
		!strings.Contains(desc, `the scheme "cursor"`) || !strings.Contains(desc, "--registration-scheme cursor") {
		t.Fatalf("refused scheme: %d %v", resp.StatusCode, body)
	}
}

// RFC 7591 §2: a client's registered scope is what it expects to use, not a
// ceiling. MCP clients register the first challenge's scope and ask for
// more on a 403; the consent page is where the user decides.
func TestAuthorize_StepUpBeyondTheRegisteredScope(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := testkit.Discover(t, stack.Auth.URL())
	c.Register(map[string]any{"redirect_uris": []string{testkit.ClientRedirect}, "token_endpoint_auth_method": "none",
		"grant_types": []string{"authorization_code", "refresh_token"}, "scope": "read"})
	b := testkit.NewBrowser(t, stack.Sandbox.URL())

	// The first sign-in asks for what the client registered.
	first := b.Get(c.AuthorizeURL(map[string]string{"scope": "read"}).URL)
	if first.Status != http.StatusOK || strings.Contains(first.Body, "(new)") {
		t.Fatalf("first consent page: %d", first.Status)
	}
	if got := b.Submit(first, "approve", nil); got.Location() == nil || !strings.HasPrefix(got.Location().String(), stack.Sandbox.URL()) {
		t.Fatalf("approve did not go to TaskManager: %d", got.Status)
	}

	// Step-up: more than registered, and more than approved before.
	more := b.Get(c.AuthorizeURL(map[string]string{"scope": "read write"}).URL)
	if more.Status != http.StatusOK {
		t.Fatalf("step-up beyond the registered scope: %d %s", more.Status, more.Header.Get("Location"))
	}
	for _, want := range []string{"it now asks for more", `<span class="new">write (new)</span>`, "<span>read</span>"} {
		if !strings.Contains(more.Body, want) {
			t.Errorf("step-up consent page lacks %q", want)
		}
	}
	// The remembered approval covers what was approved, and no more.
	if again := b.Get(c.AuthorizeURL(map[string]string{"scope": "read"}).URL); again.Status != http.StatusFound {
		t.Fatalf("the approved scope asked for again: %d", again.Status)
	}
	// Scopes the server does not support are refused, registered or not.
	redirectError(t, c, stack.Auth.URL(), map[string]string{"scope": "read admin"}, "invalid_scope")
}
