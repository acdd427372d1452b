package authserver_test

// The security suite: one named test per threat, grouped by the section
// of RFC 9700 (OAuth 2.0 Security Best Current Practice) or of the MCP
// security best practices it covers. Threats tested elsewhere are listed
// with their test in docs/security.md.

import (
	"bufio"
	"context"
	"database/sql"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	_ "modernc.org/sqlite"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// RFC 9700 §4.4: mix-up. tmcp sends iss (RFC 9207); see
// TestEndToEnd_FullFlowAsAnMCPClient and internal/flow's TestSecurity_MixUp.

// MCP security best practices, confused deputy: tmcp's client id at
// TaskManager is static, so TaskManager's remembered consent must not let
// a new MCP client through; tmcp asks again for every new client.
func TestSecurity_MCP_ConfusedDeputy_NewClientNeedsConsent(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	b := testkit.NewBrowser(t, testkit.ClientRedirect)
	first := stack.PublicClient(t)
	testkit.SignIn(t, b, first.AuthorizeURL(nil).URL) // logged in and consented at TaskManager, in this browser
	second := stack.PublicClient(t)
	p := b.Get(second.AuthorizeURL(nil).URL)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, second.ClientID) || !strings.Contains(p.Body, `id="approve"`) {
		t.Fatalf("a second client went through without tmcp's consent page: %d %s", p.Status, p.Header.Get("Location"))
	}
}

// RFC 9700 §4.7 (CSRF) and MCP consent: the consent form cannot be posted
// without having been shown to this browser for this exact request.
func TestSecurity_RFC9700_4_7_ConsentBypass(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	authz := c.AuthorizeURL(nil)
	u, _ := url.Parse(authz.URL)
	form := u.Query()
	form.Set("decision", "approve")
	b := testkit.NewBrowser(t, stack.Sandbox.URL())
	t.Run("PostWithoutThePage", func(t *testing.T) {
		if p := b.Post(u, "/oauth/consent", form); p.Status != http.StatusForbidden {
			t.Fatalf("consent posted without its page: %d", p.Status)
		}
	})
	t.Run("ForgedCSRFToken", func(t *testing.T) {
		b.Get(authz.URL) // the browser now has its cookie
		f := cloneValues(form)
		f.Set("csrf_token", "forged")
		if p := b.Post(u, "/oauth/consent", f); p.Status != http.StatusForbidden {
			t.Fatalf("consent with a forged token: %d", p.Status)
		}
	})
	t.Run("StraightToTheCallback", func(t *testing.T) {
		if p := b.Get(stack.Auth.URL() + "/oauth/callback?code=x&state=y"); p.Status != http.StatusBadRequest {
			t.Fatalf("callback without a sign-in: %d", p.Status)
		}
	})
}

// RFC 9700 §4.2.4: no referrer carries codes or states off the pages.
func TestSecurity_RFC9700_4_2_NoReferrerFromPages(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	for _, u := range []string{c.AuthorizeURL(nil).URL, stack.Auth.URL() + "/oauth/callback?state=x"} {
		p := testkit.NewBrowser(t, "").Get(u)
		if p.Header.Get("Referrer-Policy") != "no-referrer" || !strings.Contains(p.Body, `<meta name="referrer" content="no-referrer">`) {
			t.Fatalf("%s: Referrer-Policy %q", u, p.Header.Get("Referrer-Policy"))
		}
	}
}

// MCP token passthrough / audience: a resource server cannot exchange a
// token issued for another resource, nor can a client use the exchange.
func TestSecurity_MCP_TokenExchangeOnlyForItsOwnResource(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	access, _ := s.tokens(t)
	exchange := func(id, secret string) (int, map[string]any) {
		form := url.Values{"grant_type": {oauth.GrantTokenExchange}, "subject_token": {access},
			"subject_token_type": {oauth.TokenTypeAccessToken}}
		req, _ := http.NewRequest(http.MethodPost, s.c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return testkit.Do(t, req)
	}
	if status, body := exchange(testkit.ResourceClientID, testkit.ResourceSecret); status != 200 || !strings.HasPrefix(body["access_token"].(string), "tm_at_") {
		t.Fatalf("the token's own resource server: %d %v", status, body)
	}
	status, body := exchange("other-resource", "other-secret")
	wantOAuthError(t, status, body, http.StatusBadRequest, "invalid_grant")
	status, body = exchange(s.c.ClientID, "")
	wantOAuthError(t, status, body, http.StatusUnauthorized, "invalid_client")
}

// An identity assertion is minted only for an MCP server configured
// behind the calling resource server (invalid_target for any other URL,
// and for another resource server's); each carries a fresh jti and names
// the MCP resource (the gateway) it was minted through.
func TestSecurity_IdentityAssertionOnlyForTheResourceServersAudience(t *testing.T) {
	t.Parallel()
	const backend = "http://127.0.0.1:3000/mcp"
	s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Resources[0].AssertionAudiences = []string{backend}
		c.Resources[1].AssertionAudiences = []string{"http://127.0.0.1:3001/mcp"}
	}})
	access, _ := s.tokens(t)
	assertion := func(id, secret, audience string) (int, map[string]any) {
		form := url.Values{"grant_type": {oauth.GrantTokenExchange}, "subject_token": {access},
			"subject_token_type": {oauth.TokenTypeAccessToken}, "requested_token_type": {oauth.TokenTypeJWT}, "audience": {audience}}
		req, _ := http.NewRequest(http.MethodPost, s.c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		return testkit.Do(t, req)
	}
	ids := map[string]bool{}
	for range 2 {
		status, body := assertion(testkit.ResourceClientID, testkit.ResourceSecret, backend)
		if status != http.StatusOK {
			t.Fatalf("an assertion for the configured backend: %d %v", status, body)
		}
		parsed, err := jwt.ParseSigned(body["access_token"].(string), []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			t.Fatal(err)
		}
		var claims jwt.Claims
		var extra struct {
			Resource string `json:"resource"`
		}
		if err := parsed.UnsafeClaimsWithoutVerification(&claims, &extra); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal([]string(claims.Audience), []string{backend}) || extra.Resource != testkit.ResourceURL || claims.ID == "" {
			t.Fatalf("assertion claims: aud %v, resource %q, jti %q", claims.Audience, extra.Resource, claims.ID)
		}
		ids[claims.ID] = true
	}
	if len(ids) != 2 {
		t.Fatal("two assertions share a jti")
	}
	for _, c := range []struct{ id, secret, audience, why string }{
		{testkit.ResourceClientID, testkit.ResourceSecret, "https://bank.example/api", "any other URL"},
		{testkit.ResourceClientID, testkit.ResourceSecret, "http://127.0.0.1:3001/mcp", "another resource server's backend"},
		{testkit.ResourceClientID, testkit.ResourceSecret, "not a url", "not a URL"},
		{"other-resource", "other-secret", backend, "another resource server asking for this one's backend"},
	} {
		if status, body := assertion(c.id, c.secret, c.audience); status != http.StatusBadRequest || body["error"] != "invalid_target" {
			t.Errorf("an assertion for %s: %d %v, want 400 invalid_target", c.why, status, body)
		}
	}
}

// Cookies: __Host- prefix and Secure when served over https, HttpOnly and
// SameSite=Lax always.
func TestSecurity_CookiesUnderTLS(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	cfg := stack.Config
	cfg.Listener, cfg.Issuer = ln, "https://auth.example"
	srv, err := authserver.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	u, _ := url.Parse(c.AuthorizeURL(nil).URL)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/oauth/authorize?"+u.RawQuery, nil))
	cookies := rec.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatalf("no cookie set: %d", rec.Code)
	}
	for _, ck := range cookies {
		if !strings.HasPrefix(ck.Name, "__Host-") || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Domain != "" {
			t.Fatalf("cookie %+v", ck)
		}
	}
	// And over plain http on loopback: no prefix, not Secure, still HttpOnly and Lax.
	b := testkit.NewBrowser(t, stack.Sandbox.URL())
	p := b.Get(c.AuthorizeURL(nil).URL)
	for _, ck := range b.Client.Jar.Cookies(p.URL) {
		if strings.HasPrefix(ck.Name, "__Host-") {
			t.Fatalf("__Host- cookie over http: %s", ck.Name)
		}
	}
}

// Slow clients (slowloris): a client that dribbles its headers is cut off
// by the server's header timeout instead of holding a connection forever.
func TestSecurity_SlowlorisAgainstEveryServer(t *testing.T) {
	if testing.Short() {
		t.Skip("takes the header timeout (10 s)")
	}
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	for name, base := range map[string]string{"sandbox": stack.Sandbox.URL(), "auth": stack.Auth.URL(), "resource": stack.Resource.URL()} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			u, _ := url.Parse(base)
			conn, err := net.Dial("tcp", u.Host)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			start := time.Now()
			if _, err := conn.Write([]byte("GET /healthz HTTP/1.1\r\nHost: " + u.Host + "\r\n")); err != nil {
				t.Fatal(err)
			}
			// Keep dribbling one header line a second; the server must hang up.
			ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
			defer cancel()
			closed := make(chan struct{})
			go func() {
				_, _ = bufio.NewReader(conn).ReadString('\n') // returns when the server closes
				close(closed)
			}()
			for i := 0; ; i++ {
				select {
				case <-closed:
					if d := time.Since(start); d > 15*time.Second {
						t.Fatalf("held the slow connection for %s", d)
					}
					return
				case <-ctx.Done():
					t.Fatal("the server kept a slowloris connection open for 25 s")
				case <-time.After(time.Second):
					_, _ = conn.Write([]byte("X-Slow: " + strings.Repeat("a", i%10) + "\r\n"))
				}
			}
		})
	}
}

// Login CSRF, the other way round: a GET of the callback URL from another
// browser is refused and does not burn the sign-in, which the browser
// that started it still completes.
func TestSecurity_CallbackFromAnotherBrowserDoesNotBurnTheSignIn(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	b, authz, callback := toCallback(t, stack, c)
	if p := testkit.NewBrowser(t, "").Get(callback); p.Status != http.StatusForbidden {
		t.Fatalf("the callback from another browser: %d, want 403", p.Status)
	}
	p := b.Get(callback)
	loc := p.Location()
	if loc == nil || loc.Query().Get("code") == "" {
		t.Fatalf("the sign-in's own browser after the attempt: %d %s", p.Status, p.Header.Get("Location"))
	}
	if status, tok := c.Exchange(loc.Query().Get("code"), authz.Verifier); status != http.StatusOK {
		t.Fatalf("exchange: %d %v", status, tok)
	}
}

// tmcp's own PKCE verifier towards TaskManager is sealed at rest, like
// TaskManager's tokens: what the pending sign-in stores is not the
// verifier whose challenge went to TaskManager.
func TestSecurity_UpstreamVerifierSealedAtRest(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	b := testkit.NewBrowser(t, stack.Sandbox.URL())
	consent := b.Get(c.AuthorizeURL(nil).URL)
	toTM := b.Submit(consent, "approve", nil)
	loc := toTM.Location()
	if loc == nil {
		t.Fatalf("approve did not send the browser to TaskManager: %d", toTM.Status)
	}
	challenge := loc.Query().Get("code_challenge")
	db, err := sql.Open("sqlite", "file:"+stack.StorePath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var stored string
	if err := db.QueryRowContext(context.Background(), `SELECT upstream_verifier FROM pendings`).Scan(&stored); err != nil {
		t.Fatal(err)
	}
	if stored == "" || oauth.VerifyS256(stored, challenge) {
		t.Fatalf("the pending sign-in keeps the verifier in plaintext: %q", stored)
	}
}

// An error page never echoes unregistered input as prose: a made-up
// client_id shows as a short, quoted id under a fixed message.
func TestSecurity_ErrorPageTextInjection(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	lure := "x. SECURITY ALERT: your account is locked, visit https://evil.example/unlock to restore it"
	p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(map[string]string{"client_id": lure}).URL)
	if p.Status != http.StatusBadRequest || strings.Contains(p.Body, "SECURITY ALERT") || strings.Contains(p.Body, "evil.example") {
		t.Fatalf("the error page repeats the request's text: %d\n%s", p.Status, p.Body)
	}
	if !strings.Contains(p.Body, "not registered with this server") || !strings.Contains(p.Body, "…") {
		t.Fatalf("the error page lacks the fixed message or the shortened id:\n%s", p.Body)
	}
}

// RFC 9700 §4.11.2, open redirect: a client anyone can register (open DCR)
// names an attacker's redirect URI; until this browser's user approved
// the client, an error in its request stays on tmcp's page and the
// browser goes nowhere.
func TestSecurity_NoOpenRedirectThroughErrors(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := testkit.Discover(t, stack.Auth.URL())
	c.RedirectURI = "https://evil.example/landing"
	c.Register(map[string]any{"redirect_uris": []string{c.RedirectURI}, "token_endpoint_auth_method": "none",
		"grant_types": []string{"authorization_code"}})
	for _, params := range []map[string]string{{"response_type": "token"}, {"scope": "admin"}, {"code_challenge": ""}, {"prompt": "none"}} {
		p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(params).URL)
		if p.Status != http.StatusBadRequest || p.Header.Get("Location") != "" {
			t.Errorf("%v: %d to %q, want an error page", params, p.Status, p.Header.Get("Location"))
		}
	}
}

// prompt=none never shows a page: consent_required before the user
// approved the client, login_required after (tmcp has no session of its
// own to sign in silently with).
func TestSecurity_PromptNoneShowsNoPage(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	c := stack.PublicClient(t)
	b := testkit.NewBrowser(t, c.RedirectURI)
	if p := b.Get(c.AuthorizeURL(map[string]string{"prompt": "none"}).URL); p.Status != http.StatusBadRequest || !strings.Contains(p.Body, "consent_required") {
		t.Fatalf("prompt=none before approval: %d", p.Status)
	}
	b.Submit(b.Get(c.AuthorizeURL(nil).URL), "approve", nil)
	p := b.Get(c.AuthorizeURL(map[string]string{"prompt": "none"}).URL)
	if loc := p.Location(); loc == nil || loc.Query().Get("error") != "login_required" {
		t.Fatalf("prompt=none after approval: %d %s", p.Status, p.Header.Get("Location"))
	}
}

// A public client is known by its id alone, which anyone can send: junk
// with the victim's id is limited by address, and never drains the
// client's own limit, which counts only requests holding a valid code or
// refresh token of its.
func TestSecurity_PublicClientLimitNotDrainedByJunk(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Limits = authserver.Limits{PerClient: 60} }}) // bursts of 15
	_, rt := s.tokens(t)
	for range 20 {
		status, _ := s.c.Form(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"tmcp_rt_junk"}})
		if status != http.StatusBadRequest {
			t.Fatalf("junk refresh: %d, want 400", status)
		}
	}
	if status, body := s.c.Form(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}); status != http.StatusOK {
		t.Fatalf("the victim's real refresh after 20 junk requests: %d %v", status, body)
	}
}

// Behind a trusted proxy the client's address is read from
// X-Forwarded-For, so one client's failures lock out only that client at
// that address; the header counts for nothing from anyone else.
func TestSecurity_LockoutByClientAndAddressBehindTrustedProxy(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Limits = authserver.Limits{FailedAuth: 3}
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	introspect := func(secret, forwardedFor string) int {
		req, _ := http.NewRequest(http.MethodPost, c.Meta.IntrospectionEndpoint, strings.NewReader("token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testkit.ResourceClientID, secret)
		if forwardedFor != "" {
			req.Header.Set("X-Forwarded-For", forwardedFor)
		}
		status, _ := testkit.Do(t, req)
		return status
	}
	for range 3 {
		if status := introspect("guess", "203.0.113.9"); status != http.StatusUnauthorized {
			t.Fatalf("a guess: %d", status)
		}
	}
	if status := introspect("guess", "203.0.113.9"); status != http.StatusTooManyRequests {
		t.Fatalf("the guesser's address after 3 failures: %d, want 429", status)
	}
	if status := introspect(testkit.ResourceSecret, "198.51.100.7"); status != http.StatusOK {
		t.Fatalf("the real resource server, behind the same proxy: %d, want 200", status)
	}
	if status := introspect(testkit.ResourceSecret, ""); status != http.StatusOK {
		t.Fatalf("the real resource server, direct: %d, want 200", status)
	}
}

// Wrong secrets sent with the resource server's client id, from its own
// address, lock out only the wrong secrets: the resource server's right
// secret still introspects, exchanges tokens and reads /status, however
// many failures others sent.
func TestSecurity_LockoutNeverRefusesTheResourceServersSecret(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Limits = authserver.Limits{FailedAuth: 3} }})
	access, _ := s.tokens(t)
	post := func(endpoint, secret string, form url.Values) int {
		req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testkit.ResourceClientID, secret)
		status, _ := testkit.Do(t, req)
		return status
	}
	introspect := url.Values{"token": {access}}
	for i := range 10 {
		want := http.StatusUnauthorized
		if i >= 3 {
			want = http.StatusTooManyRequests
		}
		if status := post(s.c.Meta.IntrospectionEndpoint, "guess", introspect); status != want {
			t.Fatalf("wrong secret %d: %d, want %d", i+1, status, want)
		}
	}
	if status := post(s.c.Meta.IntrospectionEndpoint, testkit.ResourceSecret, introspect); status != http.StatusOK {
		t.Fatalf("the resource server's introspection after others' failures: %d, want 200", status)
	}
	exchange := url.Values{"grant_type": {oauth.GrantTokenExchange}, "subject_token": {access}, "subject_token_type": {oauth.TokenTypeAccessToken}}
	if status := post(s.c.Meta.TokenEndpoint, testkit.ResourceSecret, exchange); status != http.StatusOK {
		t.Fatalf("the resource server's token exchange after others' failures: %d, want 200", status)
	}
	req, _ := http.NewRequest(http.MethodGet, s.stack.Auth.URL()+"/status", nil)
	req.Header.Set("X-Forwarded-For", "203.0.113.7")
	req.SetBasicAuth(testkit.ResourceClientID, testkit.ResourceSecret)
	if status, body := testkit.Do(t, req); status != http.StatusOK {
		t.Fatalf("/status with the resource server's credentials after others' failures: %d %v", status, body)
	}
	// The wrong secrets stay locked out, at the token endpoint too.
	if status := post(s.c.Meta.TokenEndpoint, "guess", exchange); status != http.StatusTooManyRequests {
		t.Fatalf("a wrong secret at the token exchange: %d, want 429", status)
	}
}

// Redirect URIs: https, loopback http and reverse-domain private-use
// schemes by default, the same policy for DCR and client metadata
// documents, never a fragment, and a consent page that names where the
// redirect really goes.
func TestSecurity_RedirectURIPolicy(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Registration.RedirectSchemes = []string{"myapp"}
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	for _, u := range []string{"ws://127.0.0.1/cb", "ftp://files.example/cb", "chrome://settings/cb", "view-source:https://a.example/cb",
		"mailto:someone@example.com", "x-javascript:alert(1)", "cursor://anysphere.cursor-mcp/oauth/callback"} {
		status, body := c.JSON(http.MethodPost, c.Meta.RegistrationEndpoint, map[string]any{"redirect_uris": []string{u}, "token_endpoint_auth_method": "none"})
		if status != http.StatusBadRequest || !strings.Contains(string(body), "invalid_redirect_uri") {
			t.Errorf("DCR with %s: %d %s", u, status, body)
		}
	}
	if status, body := c.JSON(http.MethodPost, c.Meta.RegistrationEndpoint, map[string]any{"redirect_uris": []string{"com.example.app:/oauth2redirect"}, "token_endpoint_auth_method": "none"}); status != http.StatusCreated {
		t.Errorf("DCR with a reverse-domain private-use scheme: %d %s", status, body)
	}

	// The consent page of a configured private-use scheme names the
	// application that opens it, not a host hidden in its query.
	c.RedirectURI = "myapp:evil?u=https://good.example.com/cb"
	c.Register(map[string]any{"redirect_uris": []string{c.RedirectURI}, "token_endpoint_auth_method": "none"})
	p := testkit.NewBrowser(t, "").Get(c.AuthorizeURL(nil).URL)
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "opens myapp: links") || strings.Contains(p.Body, "trust <strong>good.example.com") {
		t.Errorf("consent page for %s: %d\n%s", c.RedirectURI, p.Status, p.Body)
	}

	// A loopback redirect with a fragment matches nothing, whatever port.
	lb := stack.PublicClient(t)
	pageError(t, lb.AuthorizeURL(map[string]string{"redirect_uri": lb.RedirectURI + "#frag"}).URL, "redirect URI does not match")
}

func TestSecurity_RedirectURIPolicyAppliesToMetadataDocuments(t *testing.T) {
	t.Parallel()
	id, pool := cimdClient(t, `"`+testkit.ClientRedirect+`","ftp://files.example/cb"`)
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.CIMD = cimd.Options{AllowPrivate: true, RootCAs: pool}
	}})
	c := testkit.Discover(t, stack.Auth.URL())
	c.ClientID = id
	pageError(t, c.AuthorizeURL(nil).URL, "metadata document could not be used")
}

// A thief replaying a rotated refresh token within the grace gets the
// answer the client already got, never a new token family, so the real
// client's tokens keep working; another client gets nothing; the kept
// answer is sealed at rest.
func TestSecurity_RefreshGraceGivesAThiefNoNewFamily(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	_, rt := s.tokens(t)
	refresh := func(c *testkit.OAuthClient, token string) (int, map[string]any) {
		return c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {token}})
	}
	status, real := refresh(s.c, rt)
	if status != http.StatusOK {
		t.Fatalf("the client's refresh: %d %v", status, real)
	}

	other := s.stack.PublicClient(t)
	if status, body := refresh(other, rt); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Fatalf("another client's replay: %d %v", status, body)
	}
	status, stolen := refresh(s.c, rt)
	if status != http.StatusOK || stolen["access_token"] != real["access_token"] || stolen["refresh_token"] != real["refresh_token"] {
		t.Fatalf("the replay within grace got other tokens than the client's own answer: %d", status)
	}
	if status, next := refresh(s.c, real["refresh_token"].(string)); status != http.StatusOK {
		t.Fatalf("the client's next refresh after the replay: %d %v", status, next)
	}

	db, err := sql.Open("sqlite", "file:"+s.stack.StorePath+"?mode=ro")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	rows, err := db.QueryContext(context.Background(), `SELECT answer FROM tokens WHERE answer IS NOT NULL`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	kept := 0
	for rows.Next() {
		var answer []byte
		if err := rows.Scan(&answer); err != nil {
			t.Fatal(err)
		}
		kept++
		if strings.Contains(string(answer), real["refresh_token"].(string)) || strings.Contains(string(answer), "tmcp_") {
			t.Fatal("a kept answer holds a token in plaintext")
		}
	}
	if kept != 1 {
		t.Fatalf("%d answers kept, want 1 (the newest rotation's; the one before was dropped when its successor was used)", kept)
	}
}
