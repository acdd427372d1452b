package authserver_test

// The security suite: one named test per threat, grouped by the section
// of RFC 9700 (OAuth 2.0 Security Best Current Practice) or of the MCP
// security best practices it covers. Threats tested elsewhere are listed
// with their test in the README's Security section.

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/authserver"
	"github.com/tmcp-dev/tmcp/pkg/oauth"
	"github.com/tmcp-dev/tmcp/pkg/testkit"
)

// RFC 9700 §4.4: mix-up. tmcp sends iss (RFC 9207); see
// TestEndToEnd_FullFlowAsAnMCPClient and pkg/flow's TestSecurity_MixUp.

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
