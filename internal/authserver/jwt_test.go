package authserver_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// jwtSandbox makes the sandbox issue JWT access tokens and takes userinfo
// away, so only verified claims can say who signed in.
func jwtSandbox(mut func(*sandbox.Config)) testkit.AuthOptions {
	return testkit.AuthOptions{
		MutateSandbox: func(c *sandbox.Config) {
			c.JWTAccessTokens = true
			if mut != nil {
				mut(c)
			}
		},
		Mutate: func(c *authserver.Config) { c.Upstream.UserinfoEndpoint = "http://127.0.0.1:1/userinfo" },
	}
}

func signInResult(t *testing.T, opts testkit.AuthOptions) (*testkit.Stack, url.Values) {
	t.Helper()
	stack := testkit.StartStack(t, opts)
	c := stack.PublicClient(t)
	authz := c.AuthorizeURL(nil)
	back := testkit.SignIn(t, testkit.NewBrowser(t, c.RedirectURI), authz.URL)
	q := back.Query()
	if q.Get("code") != "" {
		status, tok := c.Exchange(q.Get("code"), authz.Verifier)
		if status != 200 {
			t.Fatalf("exchange: %d %v", status, tok)
		}
		_, info := c.Introspect(tok["access_token"].(string), testkit.ResourceClientID, testkit.ResourceSecret)
		q.Set("username", info["username"].(string))
		q.Set("sub", info["sub"].(string))
	}
	return stack, q
}

func TestUpstreamJWT_IdentityFromVerifiedClaims(t *testing.T) {
	t.Parallel()
	_, q := signInResult(t, jwtSandbox(nil))
	if q.Get("error") != "" || q.Get("username") != testkit.DemoEmail || q.Get("sub") != "user-demo@example.com" {
		t.Fatalf("sign-in with JWT access tokens = %v", q)
	}
}

func TestUpstreamJWT_Refused(t *testing.T) {
	t.Parallel()
	cases := map[string]testkit.AuthOptions{
		"Expired":     jwtSandbox(func(c *sandbox.Config) { c.Now = func() time.Time { return time.Now().Add(-3 * time.Hour) } }),
		"OtherIssuer": jwtSandbox(func(c *sandbox.Config) { c.JWTIssuer = "https://elsewhere.example" }),
		"UnknownKey":  forgedTokenEndpoint(t),
	}
	for name, opts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, q := signInResult(t, opts)
			if q.Get("error") != "server_error" || !strings.Contains(q.Get("error_description"), "failed verification") || q.Get("code") != "" {
				t.Fatalf("callback = %v, want server_error (verification failed)", q)
			}
		})
	}
}

// forgedTokenEndpoint answers the code exchange with a JWT that has the
// right issuer and audience but is signed by a key TaskManager never
// published.
func forgedTokenEndpoint(t *testing.T) testkit.AuthOptions {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var sandboxURL string
	forger := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: "forged"}}, nil)
		now := time.Now()
		tok, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: sandboxURL, Subject: "user-demo@example.com",
			Audience: jwt.Audience{testkit.UpstreamClientID}, Expiry: jwt.NewNumericDate(now.Add(time.Hour)),
			IssuedAt: jwt.NewNumericDate(now)}).Serialize()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	}))
	t.Cleanup(forger.Close)
	opts := jwtSandbox(nil)
	mutate := opts.Mutate
	opts.Mutate = func(c *authserver.Config) {
		mutate(c)
		c.Upstream.TokenEndpoint = forger.URL + "/token"
	}
	opts.OnSandbox = func(u string) { sandboxURL = u }
	return opts
}
