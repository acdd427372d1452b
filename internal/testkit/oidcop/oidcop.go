// Package oidcop runs a real third-party OpenID provider in-process for
// tests: the example provider of github.com/zitadel/oidc (its op package,
// in-memory storage and login form), with users and one client of the
// test's own. tmcp wrote none of it, so a sign-in through it shows tmcp
// working with an OpenID provider as such, not with the sandbox.
package oidcop

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// User is one account at the provider.
type User struct {
	ID, Username, Password, Email string
	FirstName, LastName           string
	// EmailUnverified: the provider never verified Email (its
	// email_verified is false, which it leaves out).
	EmailUnverified bool
}

// Options shape the provider.
type Options struct {
	Users []User
	// ClientID and ClientSecret are tmcp's client; RedirectURI its
	// callback.
	ClientID, ClientSecret, RedirectURI string
	// ClaimsInIDToken puts the profile and email claims in the ID token;
	// otherwise (the example's default) only userinfo has them.
	ClaimsInIDToken bool
	// Quiet drops the provider's request log, which goes to the process's
	// default logger (for benchmarks).
	Quiet bool
}

// Provider is a running OpenID provider.
type Provider struct {
	Issuer string
	// Seen records the query of every authorization request.
	Seen chan url.Values
	// Userinfo and Refreshes count calls to those endpoints.
	Userinfo, Refreshes atomic.Int32
}

// Start runs the provider on a free loopback port until the test ends.
func Start(t testing.TB, o Options) *Provider {
	t.Helper()
	users := map[string]*storage.User{}
	for _, u := range o.Users {
		users[u.ID] = &storage.User{ID: u.ID, Username: u.Username, Password: u.Password, Email: u.Email,
			EmailVerified: !u.EmailUnverified, FirstName: u.FirstName, LastName: u.LastName}
	}
	raw, err := json.Marshal(users)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(file, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	userStore, err := storage.StoreFromFile(file)
	if err != nil {
		t.Fatal(err)
	}
	st := storage.NewStorageWithClients(userStore, map[string]*storage.Client{
		o.ClientID: storage.WebClient(o.ClientID, o.ClientSecret, o.RedirectURI),
	})
	var backing exampleop.Storage = st
	if o.ClaimsInIDToken {
		backing = claimsInIDToken{st}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Provider{Issuer: "http://" + ln.Addr().String(), Seen: make(chan url.Values, 16)}
	var logger *slog.Logger // nil keeps the default logger
	if o.Quiet {
		logger = slog.New(slog.DiscardHandler)
	}
	router := exampleop.SetupServer(p.Issuer, backing, logger, false)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/auth":
			select {
			case p.Seen <- r.URL.Query():
			default:
			}
		case "/userinfo":
			p.Userinfo.Add(1)
		case "/oauth/token":
			if r.ParseForm() == nil && r.PostForm.Get("grant_type") == "refresh_token" {
				p.Refreshes.Add(1)
			}
		}
		router.ServeHTTP(w, r)
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return p
}

// SignIn follows authorizeURL through tmcp's consent and the provider's
// login form as user, and returns where the browser was sent back to.
func SignIn(t testing.TB, b *testkit.Browser, authorizeURL string, u User) *url.URL {
	t.Helper()
	return testkit.SignInWith(t, b, authorizeURL, testkit.LoginForm{
		PathSuffix: "/login/username", Element: "username",
		Fields: map[string]string{"username": u.Username, "password": u.Password},
	})
}

// claimsInIDToken makes the provider's clients assert the userinfo claims
// in the ID token.
type claimsInIDToken struct{ *storage.Storage }

func (s claimsInIDToken) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	if err != nil {
		return nil, err
	}
	return assertingClient{c}, nil
}

type assertingClient struct{ op.Client }

func (assertingClient) IDTokenUserinfoClaimsAssertion() bool { return true }

// AccessToken signs u in with the authorization code flow (PKCE) for
// the provider's client and returns the access token the client gets, for
// tests that ask the provider's own endpoints about it.
func (p *Provider) AccessToken(t testing.TB, o Options, u User) string {
	t.Helper()
	verifier := "bench-verifier-0123456789-0123456789-0123456789"
	sum := sha256.Sum256([]byte(verifier))
	q := url.Values{"client_id": {o.ClientID}, "redirect_uri": {o.RedirectURI}, "response_type": {"code"}, "scope": {"openid email"},
		"state": {"s"}, "code_challenge": {base64.RawURLEncoding.EncodeToString(sum[:])}, "code_challenge_method": {"S256"}}
	back := SignIn(t, testkit.NewBrowser(t, o.RedirectURI), p.Issuer+"/auth?"+q.Encode(), u)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {back.Query().Get("code")},
		"redirect_uri": {o.RedirectURI}, "code_verifier": {verifier}}
	req, _ := http.NewRequest(http.MethodPost, p.Issuer+"/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(o.ClientID, o.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("the provider's token endpoint answered %d without an access token", resp.StatusCode)
	}
	return tok.AccessToken
}
