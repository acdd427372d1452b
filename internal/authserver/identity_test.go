package authserver_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/testkit/oidcop"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// aJWT has the form of a JWT; the tests' verify functions stand for the
// provider's keys.
const aJWT = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"

// userFrom is who upstream makes of a provider's verified claims (a
// TaskManager-style JWT access token), as the callback sees it.
func userFrom(t *testing.T, cfg upstream.Config, claims map[string]any) *upstream.User {
	t.Helper()
	cfg.BaseURL, cfg.ClientID = "http://provider.example", "tmcp"
	c, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	verify := func(context.Context, string) (*jwks.Claims, error) {
		raw, _ := json.Marshal(claims)
		var out jwks.Claims
		_ = json.Unmarshal(raw, &out)
		_ = json.Unmarshal(raw, &out.All)
		return &out, nil
	}
	u, err := c.Identify(context.Background(), &upstream.Token{AccessToken: aJWT}, "", verify)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// OpenID Connect Core §5.1: an address the provider did not verify
// (email_verified false, absent, or the string "false") admits no one,
// by domain nor by address.
func TestAdmission_UnverifiedAddressIsRefused(t *testing.T) {
	byDomain := authserver.Admission{Domains: []string{"corp.example"}}
	byAddress := authserver.Admission{Users: []string{"alice@corp.example"}}
	for _, tc := range []struct {
		name     string
		verified any // nil: absent
		admit    bool
	}{
		{"true", true, true},
		{"false", false, false},
		{"absent", nil, false},
		{"the string false", "false", false},
		{"the string true", "true", false},
	} {
		claims := map[string]any{"sub": "u-1", "email": "alice@corp.example"}
		if tc.verified != nil {
			claims["email_verified"] = tc.verified
		}
		u := userFrom(t, upstream.Config{}, claims)
		for name, a := range map[string]authserver.Admission{"--allowed-domains": byDomain, "--allowed-users": byAddress} {
			if got := a.Admit(u) == ""; got != tc.admit {
				t.Errorf("email_verified %s, %s: admitted = %v, want %v", tc.name, name, got, tc.admit)
			}
		}
	}
	// TaskManager's tokens say nothing of verification: the operator
	// vouches for it with --provider-verifies-email, which an explicit
	// false still overrides.
	vouched := upstream.Config{ProviderVerifiesEmail: true}
	if byDomain.Admit(userFrom(t, vouched, map[string]any{"sub": "u-1", "email": "alice@corp.example"})) != "" {
		t.Error("--provider-verifies-email: an address without email_verified was refused")
	}
	if byDomain.Admit(userFrom(t, vouched, map[string]any{"sub": "u-1", "email": "alice@corp.example", "email_verified": "false"})) == "" {
		t.Error(`--provider-verifies-email: email_verified "false" was admitted`)
	}
}

// OpenID Connect Core §5.7: preferred_username and username are chosen by
// the user at many providers: never an address, and no match for
// --allowed-users unless the operator named that claim.
func TestAdmission_PreferredUsernameNeverPassesAllowedUsers(t *testing.T) {
	a := authserver.Admission{Users: []string{"ceo@corp.example"}, Domains: []string{"corp.example"}}
	for _, claim := range []string{"preferred_username", "username"} {
		claims := map[string]any{"sub": "u-1", claim: "ceo@corp.example"}
		u := userFrom(t, upstream.Config{}, claims)
		if u.Username != "ceo@corp.example" || u.Email != "" {
			t.Fatalf("%s: user = %+v, want it shown and no address", claim, u)
		}
		if a.Admit(u) == "" {
			t.Errorf("%s %q passed --allowed-users and --allowed-domains", claim, u.Username)
		}
		if named := userFrom(t, upstream.Config{UsernameClaim: claim}, claims); a.Admit(named) != "" || named.Email != "" {
			t.Errorf("--username-claim %s: %+v refused or taken for an address", claim, named)
		}
	}
	// The subject always matches, and exactly (it is case-sensitive).
	u := userFrom(t, upstream.Config{}, map[string]any{"sub": "u-Dave", "preferred_username": "dave"})
	if (authserver.Admission{Users: []string{"u-Dave"}}).Admit(u) != "" || (authserver.Admission{Users: []string{"u-dave"}}).Admit(u) == "" {
		t.Error("subjects must match exactly")
	}
}

// Domains compare in IDNA's ASCII form, with no Unicode case folding:
// corp-K.example spelled with the Kelvin sign (U+212A) is not
// corp-k.example, as a domain nor in an address.
func TestAdmission_KelvinSignDomainIsRefused(t *testing.T) {
	kelvin := "corp-\u212a.example"
	a := authserver.Admission{Domains: []string{"corp-k.example"}, Users: []string{"eve@corp-k.example"}}
	if u := (&upstream.User{Subject: "u-1", Email: "eve@" + kelvin}); a.Admit(u) == "" {
		t.Errorf("%q was admitted by %+v", u.Email, a)
	}
	byAddress := authserver.Admission{Users: []string{"eve@corp-k.example"}}
	if u := (&upstream.User{Subject: "u-1", Email: "ev\u212a@corp-k.example"}); byAddress.Admit(u) == "" {
		t.Errorf("%q was admitted by %+v", u.Email, byAddress)
	}
	named := &upstream.User{Subject: "u-1", Username: "eve@" + kelvin, UsernameChosen: true}
	if a.Admit(named) == "" {
		t.Errorf("a chosen username %q matched by Unicode folding", named.Username)
	}
	for _, tc := range []struct {
		allowed, email string
	}{
		{"corp-k.example", "Eve@CORP-K.Example"},
		{"@corp-k.example", "eve@corp-k.example"},
		{"bücher.example", "eve@xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "eve@bücher.example"},
	} {
		if (authserver.Admission{Domains: []string{tc.allowed}}).Admit(&upstream.User{Subject: "u-1", Email: tc.email}) != "" {
			t.Errorf("domain %q refused %q", tc.allowed, tc.email)
		}
	}
	if (authserver.Admission{Users: []string{"Eve@Corp-K.example"}}).Admit(&upstream.User{Subject: "u-1", Email: "eve@corp-k.example"}) != "" {
		t.Error("addresses differing in ASCII case only must match")
	}
}

// An allow-list entry no user could match stops the start, with a clear
// error, rather than refusing everyone quietly.
func TestAdmission_InvalidEntryStopsTheStart(t *testing.T) {
	for _, tc := range []struct {
		a    authserver.Admission
		want string
	}{
		{authserver.Admission{Domains: []string{"corp-\u212a.example"}}, "is not a valid domain name"},
		{authserver.Admission{Domains: []string{"corp example"}}, "is not a valid domain name"},
		{authserver.Admission{Users: []string{"eve@corp-\u212a.example"}}, "is not an address with a valid domain name"},
		{authserver.Admission{Users: []string{"@corp.example"}}, "nothing before the @"},
	} {
		if err := tc.a.Check(); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: %v, want %q", tc.a, err, tc.want)
		}
	}
	stack := testkit.StartStack(t, testkit.AuthOptions{})
	cfg := stack.Config
	cfg.Listener, cfg.Addr = nil, "127.0.0.1:0"
	cfg.Admission = authserver.Admission{Domains: []string{"corp-\u212a.example"}}
	if _, err := authserver.New(cfg); err == nil || !strings.Contains(err.Error(), "allowed domains") {
		t.Fatalf("New with a Kelvin-sign domain = %v", err)
	}
}

// signInPage runs a sign-in as u up to the page it ends on (the MCP
// client's redirect or a refusal); tamper, when set, may rewrite tmcp's
// authorization request to the provider on its way.
func (ps *providerStack) signInPage(t *testing.T, u oidcop.User, tamper func(url.Values)) *testkit.Page {
	t.Helper()
	b := testkit.NewBrowser(t, ps.c.RedirectURI)
	p := b.Get(ps.c.AuthorizeURL(nil).URL)
	if tamper != nil {
		b.StopAt = ps.op.Issuer + "/auth"
		p = b.Submit(p, "approve", nil)
		loc := p.Location()
		if p.Status != http.StatusFound || loc == nil || !strings.HasPrefix(loc.String(), b.StopAt) {
			t.Fatalf("tmcp did not send the browser to the provider: %d %s", p.Status, p.URL)
		}
		q := loc.Query()
		tamper(q)
		loc.RawQuery = q.Encode()
		b.StopAt = ps.c.RedirectURI
		p = b.Get(loc.String())
	}
	for step := 0; step < 5 && p.Status == http.StatusOK; step++ {
		if strings.HasSuffix(p.URL.Path, "/login/username") {
			p = b.Submit(p, "username", map[string]string{"username": u.Username, "password": u.Password})
			continue
		}
		p = b.Submit(p, "approve", nil)
	}
	return p
}

// The zitadel/oidc example provider's user whose address it never
// verified is not admitted by her address's domain, nor by the address
// her username spells; named as the username claim, it admits her.
func TestProvider_UnverifiedAddressIsNotAdmitted(t *testing.T) {
	t.Parallel()
	for _, a := range []authserver.Admission{{Domains: []string{"example.com"}}, {Users: []string{"ceo@example.com", "mallory@example.com", alice.Email}}} {
		ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{}, func(c *authserver.Config) { c.Admission = a })
		if p := ps.signInPage(t, mallory, nil); p.Status != http.StatusForbidden || !strings.Contains(p.Body, "may not use this server") {
			t.Fatalf("%+v: mallory's sign-in ended %d at %s:\n%.400s", a, p.Status, p.URL, p.Body)
		}
		ps.signIn(t, alice, "read") // verified, in example.com
	}
	named := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{}, func(c *authserver.Config) {
		c.Admission = authserver.Admission{Users: []string{"ceo@example.com"}}
		c.Upstream.UsernameClaim = "preferred_username"
	})
	named.signIn(t, mallory, "read")
}

// The verified address, and only it, reaches resource servers: in
// introspection, in JWT access tokens and in identity assertions. The
// unverified user gets none, though her username looks like an address.
func TestProvider_UnverifiedAddressIsPassedOnNowhere(t *testing.T) {
	t.Parallel()
	for _, format := range []string{authserver.FormatOpaque, authserver.FormatJWT} {
		ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
			c.Resources[0].AssertionAudiences = []string{"https://notes.example/mcp"}
		}}, func(c *authserver.Config) { c.TokenFormat = format })
		for _, tc := range []struct {
			user  oidcop.User
			email string
		}{{alice, alice.Email}, {mallory, ""}} {
			access := ps.signIn(t, tc.user, "read")["access_token"].(string)
			got := map[string]any{}
			if format == authserver.FormatJWT {
				got["jwt access token"] = jwtClaims(t, access)["email"]
			} else {
				_, in := ps.c.Introspect(access, testkit.ResourceClientID, testkit.ResourceSecret)
				got["introspection"] = in["email"]
			}
			status, ex := ps.c.Form(ps.c.Meta.TokenEndpoint, url.Values{"grant_type": {oauth.GrantTokenExchange},
				"subject_token": {access}, "subject_token_type": {oauth.TokenTypeAccessToken},
				"requested_token_type": {oauth.TokenTypeJWT}, "audience": {"https://notes.example/mcp"},
				"client_id": {testkit.ResourceClientID}, "client_secret": {testkit.ResourceSecret}})
			if status != http.StatusOK {
				t.Fatalf("identity assertion: %d %v", status, ex)
			}
			got["identity assertion"] = jwtClaims(t, ex["access_token"].(string))["email"]
			for where, email := range got {
				if tc.email == "" && email != nil || tc.email != "" && email != tc.email {
					t.Errorf("%s, %s tokens: the %s's email is %v, want %q", tc.user.Username, format, where, email, tc.email)
				}
			}
		}
	}
}

// jwtClaims reads a JWT's claims without checking it (the tests that
// check signatures are elsewhere).
func jwtClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s…", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	out := map[string]any{}
	if err != nil || json.Unmarshal(payload, &out) != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	return out
}

// OpenID Connect Core §3.1.2.1, §3.1.3.7 item 11: every sign-in sends the
// provider a fresh nonce, and an ID token without it, or with another,
// ends the sign-in on a refusal page, issuing nothing.
func TestProvider_NonceSentAndRequired(t *testing.T) {
	t.Parallel()
	ps := startWithProvider(t, oidcop.Options{}, testkit.AuthOptions{}, nil)
	ps.signIn(t, alice, "read")
	ps.signIn(t, alice, "read")
	first, second := <-ps.op.Seen, <-ps.op.Seen
	if n := first.Get("nonce"); len(n) < 32 || n == second.Get("nonce") {
		t.Fatalf("nonces sent: %q then %q, want fresh random ones", n, second.Get("nonce"))
	}
	for _, tc := range []struct {
		name   string
		tamper func(url.Values)
		want   string
	}{
		{"missing", func(q url.Values) { q.Del("nonce") }, "carries no nonce"},
		{"another", func(q url.Values) { q.Set("nonce", "0123456789abcdef0123456789abcdef0123456789a") }, "nonce is not the one this sign-in sent"},
	} {
		before, _ := ps.Store.NewestGrant(t.Context())
		p := ps.signInPage(t, alice, tc.tamper)
		if p.Status != http.StatusForbidden || !strings.Contains(p.Body, tc.want) {
			t.Fatalf("nonce %s: the sign-in ended %d at %s:\n%.600s", tc.name, p.Status, p.URL, p.Body)
		}
		if after, _ := ps.Store.NewestGrant(t.Context()); after.ID != before.ID {
			t.Fatalf("nonce %s: a refused sign-in left a grant", tc.name)
		}
	}
}
