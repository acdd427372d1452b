package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/testkit/oidcop"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Accounts at the third-party provider; none of them exists at the
// sandbox.
var (
	alice = oidcop.User{ID: "u-alice", Username: "alice", Password: "alice-pw", Email: "alice@example.com", FirstName: "Alice", LastName: "A"}
	bob   = oidcop.User{ID: "u-bob", Username: "bob", Password: "bob-pw", Email: "bob@other.org", FirstName: "Bob", LastName: "B"}
	// mallory's address was never verified, and her username (the
	// preferred_username claim) is someone else's address.
	mallory = oidcop.User{ID: "u-mallory", Username: "ceo@example.com", Password: "mallory-pw", Email: "mallory@example.com",
		EmailUnverified: true, FirstName: "Mallory", LastName: "M"}
)

const providerSecret = "provider-client-secret"

type providerStack struct {
	*testkit.Stack
	op *oidcop.Provider
	c  *testkit.OAuthClient
}

// startWithProvider runs tmcp in front of the provider, configured as an
// operator would: its issuer, tmcp's client there, and set (the flags'
// settings).
func startWithProvider(t *testing.T, o oidcop.Options, opts testkit.AuthOptions, set func(*authserver.Config)) *providerStack {
	t.Helper()
	ps := &providerStack{}
	opts.Resource = true
	opts.Provider = func(callback string) upstream.Config {
		o.Users, o.ClientID, o.RedirectURI = []oidcop.User{alice, bob, mallory}, "tmcp-at-provider", callback
		if o.ClientSecret == "" {
			o.ClientSecret = providerSecret
		}
		ps.op = oidcop.Start(t, o)
		// The stack sets the upstream after Mutate: set applies to it here.
		cfg := authserver.Config{Upstream: upstream.Config{Issuer: ps.op.Issuer, ClientID: o.ClientID,
			ClientSecret: providerSecret, Timeout: 5 * time.Second}}
		if set != nil {
			set(&cfg)
		}
		return cfg.Upstream
	}
	mutate := opts.Mutate
	opts.Mutate = func(c *authserver.Config) {
		if mutate != nil {
			mutate(c)
		}
		if set != nil {
			set(c)
		}
	}
	ps.Stack = testkit.StartStack(t, opts)
	ps.c = testkit.Discover(t, ps.Auth.URL())
	ps.c.Resource = ps.Resource.URL()
	ps.c.RegisterPublic()
	return ps
}

// signIn runs the sign-in as u and returns the MCP tokens.
func (ps *providerStack) signIn(t *testing.T, u oidcop.User, scope string) map[string]any {
	t.Helper()
	authz := ps.c.AuthorizeURL(map[string]string{"scope": scope})
	back := oidcop.SignIn(t, testkit.NewBrowser(t, ps.c.RedirectURI), authz.URL, u)
	status, tok := ps.c.Exchange(back.Query().Get("code"), authz.Verifier)
	if status != http.StatusOK {
		t.Fatalf("exchange after signing in at the provider: %d %v (callback %s)", status, tok, back)
	}
	return tok
}

// whoami is the username the MCP server's whoami tool shows for access.
func (ps *providerStack) whoami(t *testing.T, access string) string {
	t.Helper()
	mc, err := testkit.MCP(t, ps.Resource.URL(), access, "", false)
	if err != nil {
		t.Fatal(err)
	}
	res, text := testkit.CallTool(t, mc, "whoami", nil)
	var id struct {
		Username string `json:"username"`
	}
	if res.IsError || json.Unmarshal([]byte(text), &id) != nil {
		t.Fatalf("whoami: %s", text)
	}
	return id.Username
}

// askedScopes is the scope tmcp sent the provider on its newest sign-in.
func (ps *providerStack) askedScopes(t *testing.T) []string {
	t.Helper()
	select {
	case q := <-ps.op.Seen:
		return oauth.ParseScope(q.Get("scope"))
	default:
		t.Fatal("the provider saw no authorization request")
		return nil
	}
}

// The provider's ID token carries only sub (its default): tmcp asks
// userinfo, and whoami shows the user's address, not the opaque subject.
// tmcp asks the provider for the OpenID scopes, never for its own MCP
// scopes, which the provider does not know.
func TestProvider_IdentityFromUserinfo(t *testing.T) {
	t.Parallel()
	ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{}, nil)
	tok := ps.signIn(t, alice, "read write")
	if got := ps.whoami(t, tok["access_token"].(string)); got != alice.Email {
		t.Fatalf("whoami = %s, want alice@example.com", got)
	}
	if tok["scope"] != "read write" {
		t.Fatalf("MCP scope = %v, want read write", tok["scope"])
	}
	asked := ps.askedScopes(t)
	for _, s := range []string{"openid", "email", "profile", "offline_access"} {
		if !slices.Contains(asked, s) {
			t.Errorf("tmcp asked the provider for %v, without %s", asked, s)
		}
	}
	if slices.Contains(asked, "read") || slices.Contains(asked, "write") {
		t.Errorf("tmcp forwarded its MCP scopes to the provider: %v", asked)
	}
	if ps.op.Userinfo.Load() == 0 {
		t.Error("the ID token had no email and userinfo was not asked")
	}
}

// With the claims in the ID token, identity comes from the verified token
// alone; --username-claim picks another claim.
func TestProvider_IdentityFromTheIDToken(t *testing.T) {
	t.Parallel()
	ps := startWithProvider(t, oidcop.Options{ClaimsInIDToken: true}, testkit.AuthOptions{}, nil)
	tok := ps.signIn(t, alice, "read")
	if got := ps.whoami(t, tok["access_token"].(string)); got != alice.Email {
		t.Fatalf("whoami = %s", got)
	}
	if n := ps.op.Userinfo.Load(); n != 0 {
		t.Errorf("userinfo asked %d times although the ID token named the user", n)
	}

	byName := startWithProvider(t, oidcop.Options{ClaimsInIDToken: true}, testkit.AuthOptions{}, func(c *authserver.Config) {
		c.Upstream.UsernameClaim = "preferred_username"
	})
	tok = byName.signIn(t, alice, "read")
	if got := byName.whoami(t, tok["access_token"].(string)); got != alice.Username {
		t.Fatalf("whoami with --username-claim preferred_username = %s", got)
	}
}

// --allowed-domains: bob's address is elsewhere, so the callback shows a
// refusal and issues nothing; alice gets in.
func TestProvider_AllowListRefusesOthers(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{Log: logs}, func(c *authserver.Config) {
		c.Admission = authserver.Admission{Domains: []string{"example.com"}}
	})
	authz := ps.c.AuthorizeURL(nil)
	b := testkit.NewBrowser(t, ps.c.RedirectURI)
	p := b.Get(authz.URL)
	for step := 0; step < 5 && p.Status == http.StatusOK; step++ {
		if strings.HasSuffix(p.URL.Path, "/login/username") {
			p = b.Submit(p, "username", map[string]string{"username": bob.Username, "password": bob.Password})
			continue
		}
		p = b.Submit(p, "approve", nil)
	}
	if p.Status != http.StatusForbidden || !strings.Contains(p.Body, "bob@other.org may not use this server") {
		t.Fatalf("bob's sign-in ended %d at %s:\n%.400s", p.Status, p.URL, p.Body)
	}
	if g, err := ps.Store.NewestGrant(t.Context()); err == nil {
		t.Fatalf("a refused sign-in left a grant for %s", g.Username)
	}
	if !strings.Contains(logs.String(), "sign-in refused") {
		t.Error("the refusal was not audit-logged")
	}
	ps.signIn(t, alice, "read")
}

// --upstream-scope maps tmcp's scopes to the provider's: the provider is
// asked for what they map to, and an MCP scope is granted when the
// provider granted its part.
func TestProvider_ScopeMapping(t *testing.T) {
	t.Parallel()
	ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{}, func(c *authserver.Config) {
		m, err := upstream.ParseScopeMap([]string{"read=phone", "write=address"})
		if err != nil {
			t.Fatal(err)
		}
		c.Upstream.Scopes = m
	})
	tok := ps.signIn(t, alice, "read")
	asked := ps.askedScopes(t)
	if !slices.Contains(asked, "phone") || slices.Contains(asked, "address") || slices.Contains(asked, "read") {
		t.Fatalf("for MCP scope read tmcp asked %v, want phone and not address", asked)
	}
	if tok["scope"] != "read" {
		t.Fatalf("MCP scope = %v", tok["scope"])
	}
	ps.signIn(t, alice, "read write")
	if asked := ps.askedScopes(t); !slices.Contains(asked, "phone") || !slices.Contains(asked, "address") {
		t.Fatalf("for read write tmcp asked %v", asked)
	}
}

// When the provider's token is stale, an MCP refresh renews it at the
// provider with the refresh token offline_access brought.
func TestProvider_RefreshThroughTheProvider(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{Now: clock.Now}, nil)
	tok := ps.signIn(t, alice, "read")
	clock.Advance(2 * time.Hour)
	status, renewed := ps.c.Form(ps.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok["refresh_token"].(string)}})
	if status != http.StatusOK {
		t.Fatalf("MCP refresh: %d %v", status, renewed)
	}
	if ps.op.Refreshes.Load() != 1 {
		t.Fatalf("the provider saw %d refreshes, want 1", ps.op.Refreshes.Load())
	}
}

// The provider refusing tmcp's client (a wrong secret) reaches the MCP
// client as server_error with its state, and nothing is issued.
func TestProvider_ErrorsReachTheClient(t *testing.T) {
	t.Parallel()
	ps := startWithProvider(t, oidcop.Options{ClientSecret: "the-provider-has-another-secret"}, testkit.AuthOptions{}, nil)
	authz := ps.c.AuthorizeURL(nil)
	back := oidcop.SignIn(t, testkit.NewBrowser(t, ps.c.RedirectURI), authz.URL, alice)
	if q := back.Query(); q.Get("error") != "server_error" || q.Get("code") != "" || q.Get("state") != authz.State {
		t.Fatalf("callback = %s, want error=server_error", back)
	}
}

func TestAdmission_UsersDomainsGroups(t *testing.T) {
	a := authserver.Admission{Users: []string{"Carol@Example.org", "u-dave"}, Domains: []string{"@example.com"}, Groups: []string{"mcp-users"}}
	for _, tc := range []struct {
		user  upstream.User
		admit bool
	}{
		{upstream.User{Subject: "1", Email: "alice@example.com", Username: "alice@example.com"}, true},
		{upstream.User{Subject: "2", Email: "alice@example.com.evil.org"}, false},
		{upstream.User{Subject: "3", Email: "carol@example.org"}, true},
		{upstream.User{Subject: "u-dave", Username: "dave"}, true},
		{upstream.User{Subject: "4", Email: "erin@other.org", Groups: []string{"staff", "mcp-users"}}, true},
		{upstream.User{Subject: "5", Email: "frank@other.org", Groups: []string{"MCP-users"}}, false},
	} {
		if got := a.Admit(&tc.user) == ""; got != tc.admit {
			t.Errorf("%+v admitted = %v, want %v", tc.user, got, tc.admit)
		}
	}
	if (authserver.Admission{}).Admit(&upstream.User{Subject: "x"}) != "" {
		t.Error("no lists must admit everyone the provider signs in")
	}
}
