package upstream_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

const nonce = "the-nonce-this-sign-in-sent"

// aJWT has the form of a JWT; the tests' verify functions stand for the
// provider's keys.
const aJWT = "eyJhbGciOiJFUzI1NiJ9.e30.c2ln"

// signedBy returns a VerifyFunc that "verifies" any token into claims,
// as the provider's JWKS would: the checks after the signature are what
// these tests are about.
func signedBy(claims map[string]any) upstream.VerifyFunc {
	return func(context.Context, string) (*jwks.Claims, error) {
		raw, _ := json.Marshal(claims)
		var c jwks.Claims
		if err := json.Unmarshal(raw, &c); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(raw, &c.All)
		return &c, nil
	}
}

func newClient(t *testing.T, cfg upstream.Config) *upstream.Client {
	t.Helper()
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://provider.example"
	}
	cfg.ClientID = "tmcp"
	c, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// idToken is an OpenID provider's ID token for tmcp with this sign-in's
// nonce, plus extra.
func idToken(extra map[string]any) map[string]any {
	c := map[string]any{"iss": "http://provider.example", "sub": "u-1", "aud": "tmcp", "nonce": nonce}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

func identify(t *testing.T, c *upstream.Client, claims map[string]any) (*upstream.User, error) {
	t.Helper()
	return c.Identify(context.Background(), &upstream.Token{AccessToken: "opaque", IDToken: "id.token.jwt"}, secrets.Hash(nonce), signedBy(claims))
}

// OpenID Connect Core §5.1: an address counts only when email_verified
// is the JSON boolean true. Not the string, not absent, not null; an
// operator's --provider-verifies-email covers only the absent claim.
func TestIdentify_EmailCountsOnlyWhenVerified(t *testing.T) {
	for _, tc := range []struct {
		name     string
		verified any // nil: absent
		vouched  bool
		want     string
	}{
		{"true", true, false, "alice@corp.example"},
		{"false", false, false, ""},
		{"absent", nil, false, ""},
		{"the string false", "false", false, ""},
		{"the string true", "true", false, ""},
		{"null", json.RawMessage("null"), false, ""},
		{"absent, provider vouched for", nil, true, "alice@corp.example"},
		{"false, provider vouched for", false, true, ""},
		{"the string false, provider vouched for", "false", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			extra := map[string]any{"email": "alice@corp.example"}
			if tc.verified != nil {
				extra["email_verified"] = tc.verified
			}
			c := newClient(t, upstream.Config{OpenID: true, ProviderVerifiesEmail: tc.vouched})
			u, err := identify(t, c, idToken(extra))
			if err != nil {
				t.Fatal(err)
			}
			if u.Email != tc.want {
				t.Fatalf("Email = %q, want %q", u.Email, tc.want)
			}
			if tc.want == "" && u.Username == "alice@corp.example" {
				t.Fatalf("the unverified address became the username: %+v", u)
			}
		})
	}
}

// The token's address without email_verified is checked with userinfo,
// and taken with userinfo's verdict only as one pair: a userinfo that
// verified another address does not verify the token's.
func TestIdentify_EmailAndItsVerificationComeFromOneAnswer(t *testing.T) {
	info := map[string]any{}
	ui := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(info)
	}))
	defer ui.Close()
	c := newClient(t, upstream.Config{UserinfoEndpoint: ui.URL})
	tmJWT := func(claims map[string]any) (*upstream.User, error) {
		return c.Identify(context.Background(), &upstream.Token{AccessToken: aJWT}, "", signedBy(claims))
	}
	token := map[string]any{"sub": "u-1", "email": "alice@corp.example"}

	info = map[string]any{"sub": "u-1", "email": "alice@corp.example", "email_verified": true}
	if u, err := tmJWT(token); err != nil || u.Email != "alice@corp.example" {
		t.Fatalf("userinfo verified the same address: %+v %v", u, err)
	}
	info = map[string]any{"sub": "u-1", "email": "other@corp.example", "email_verified": true}
	if u, err := tmJWT(token); err != nil || u.Email != "other@corp.example" {
		t.Fatalf("userinfo verified another address: %+v %v, want userinfo's pair", u, err)
	}
	info = map[string]any{"sub": "u-1"}
	if u, err := tmJWT(token); err != nil || u.Email != "" {
		t.Fatalf("nobody verified the token's address: %+v %v", u, err)
	}
}

// OpenID Connect Core §5.7: preferred_username (and username) is chosen
// by the user at many providers. Without a verified address it may be
// shown, but it is no address and the allow-list does not match it,
// unless the operator named that claim with --username-claim.
func TestIdentify_PreferredUsernameIsNeverAnAddress(t *testing.T) {
	// email_verified true speaks of the email claim, which is absent.
	claims := idToken(map[string]any{"preferred_username": "ceo@corp.example", "username": "ceo@corp.example", "email_verified": true})
	for _, tc := range []struct {
		claim  string
		chosen bool
	}{{"", false}, {"preferred_username", true}, {"username", true}, {"email", false}} {
		c := newClient(t, upstream.Config{OpenID: true, UsernameClaim: tc.claim})
		u, err := identify(t, c, claims)
		if tc.claim == "email" {
			if err == nil {
				t.Errorf("--username-claim email without an email claim: %+v", u)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if u.Email != "" || u.UsernameChosen != tc.chosen || u.Username != "ceo@corp.example" {
			t.Errorf("--username-claim %q: %+v, want no address, shown name, chosen %v", tc.claim, u, tc.chosen)
		}
	}
	c := newClient(t, upstream.Config{OpenID: true, UsernameClaim: "email"})
	u, err := identify(t, c, idToken(map[string]any{"email": "ceo@corp.example", "email_verified": false}))
	if err != nil || u.Email != "" || u.UsernameChosen {
		t.Errorf("--username-claim email, unverified: %+v %v: an address counts only verified", u, err)
	}
}

// OpenID Connect Core §3.1.3.7 item 11: the ID token must carry the
// nonce this sign-in sent; §3.1.3.3: an OpenID provider's answer has an
// ID token.
func TestIdentify_IDTokenNonceMustBeThisSignIns(t *testing.T) {
	c := newClient(t, upstream.Config{OpenID: true})
	for _, tc := range []struct {
		name   string
		claims map[string]any
		ok     bool
	}{
		{"this sign-in's", idToken(nil), true},
		{"missing", idToken(map[string]any{"nonce": nil}), false},
		{"empty", idToken(map[string]any{"nonce": ""}), false},
		{"another sign-in's", idToken(map[string]any{"nonce": "another-nonce"}), false},
		{"not a string", idToken(map[string]any{"nonce": 42}), false},
	} {
		_, err := identify(t, c, tc.claims)
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, upstream.ErrIDTokenRefused) {
			t.Errorf("nonce %s: %v", tc.name, err)
		}
	}
	if _, err := c.Identify(context.Background(), &upstream.Token{AccessToken: "opaque", IDToken: "id.token.jwt"}, "", signedBy(idToken(nil))); !errors.Is(err, upstream.ErrIDTokenRefused) {
		t.Errorf("a sign-in that kept no nonce took an ID token: %v", err)
	}
	if _, err := c.Identify(context.Background(), &upstream.Token{AccessToken: "opaque"}, secrets.Hash(nonce), signedBy(idToken(nil))); !errors.Is(err, upstream.ErrIDTokenRefused) {
		t.Errorf("an OpenID answer without an ID token: %v", err)
	}
}

// OpenID Connect Core §3.1.3.7 items 4 and 5: an ID token for several
// audiences names tmcp as its authorized party, and an azp present is
// tmcp's client id.
func TestIdentify_IDTokenAuthorizedParty(t *testing.T) {
	c := newClient(t, upstream.Config{OpenID: true})
	for _, tc := range []struct {
		name  string
		extra map[string]any
		ok    bool
	}{
		{"one audience, no azp", nil, true},
		{"one audience, azp tmcp", map[string]any{"azp": "tmcp"}, true},
		{"one audience, azp another", map[string]any{"azp": "other-app"}, false},
		{"several audiences, azp tmcp", map[string]any{"aud": []string{"tmcp", "api"}, "azp": "tmcp"}, true},
		{"several audiences, no azp", map[string]any{"aud": []string{"tmcp", "api"}}, false},
		{"several audiences, azp another", map[string]any{"aud": []string{"tmcp", "api"}, "azp": "api"}, false},
		{"azp not a string", map[string]any{"azp": []string{"tmcp"}}, false},
		{"azp differing in case", map[string]any{"azp": "TMCP"}, false},
	} {
		_, err := identify(t, c, idToken(tc.extra))
		if tc.ok && err != nil || !tc.ok && !errors.Is(err, upstream.ErrIDTokenRefused) {
			t.Errorf("%s: %v", tc.name, err)
		}
	}
}
