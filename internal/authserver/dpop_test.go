package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func dpopKey(t *testing.T) *dpop.Key {
	t.Helper()
	k, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func jktOf(m map[string]any) string {
	c, _ := m["cnf"].(map[string]any)
	s, _ := c["jkt"].(string)
	return s
}

// TestToken_DPoPProofBindsTheAccessToken: a token request with a DPoP
// proof gets token_type DPoP and an access token bound to the proof's
// key (RFC 9449 §5, §6): cnf.jkt in the introspection answer, and in the
// JWT itself when access tokens are JWTs. The metadata names the
// algorithms (§5.1).
func TestToken_DPoPProofBindsTheAccessToken(t *testing.T) {
	t.Parallel()
	for _, format := range []string{authserver.FormatOpaque, authserver.FormatJWT} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.TokenFormat = format }})
			if !slices.Contains(s.c.Meta.DPoPSigningAlgValuesSupported, "ES256") {
				t.Fatalf("dpop_signing_alg_values_supported = %v", s.c.Meta.DPoPSigningAlgValuesSupported)
			}
			key := dpopKey(t)
			s.c.DPoP = key
			status, tok := s.c.Exchange(s.code, s.authz.Verifier)
			if status != http.StatusOK || tok["token_type"] != "DPoP" {
				t.Fatalf("exchange with a proof: %d %v", status, tok)
			}
			access := tok["access_token"].(string)
			_, info := s.c.Introspect(access, testkit.ResourceClientID, testkit.ResourceSecret)
			if info["active"] != true || info["token_type"] != "DPoP" || jktOf(info) != key.JKT() {
				t.Fatalf("introspection of a bound token = %v, want cnf.jkt %s", info, key.JKT())
			}
			if format == authserver.FormatJWT {
				if got := jktOf(jwtClaims(t, access)); got != key.JKT() {
					t.Fatalf("the JWT's cnf.jkt = %q, want %q", got, key.JKT())
				}
			}
		})
	}
}

// TestToken_WithoutAProofABearerToken: bearer clients keep working, and
// their tokens say nothing of a key.
func TestToken_WithoutAProofABearerToken(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	access, _ := s.tokens(t)
	_, info := s.c.Introspect(access, testkit.ResourceClientID, testkit.ResourceSecret)
	if info["token_type"] != "Bearer" || info["cnf"] != nil {
		t.Fatalf("introspection of a bearer token = %v", info)
	}
}

// TestToken_DPoPProofRules: the token endpoint refuses a proof made for
// another URL or method, a proof sent twice, and, with RequireDPoP, a
// request without one, each with invalid_dpop_proof (RFC 9449 §5).
func TestToken_DPoPProofRules(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.RequireDPoP = true }})
	key := dpopKey(t)
	form := func() url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {s.code}, "code_verifier": {s.authz.Verifier},
			"redirect_uri": {s.c.RedirectURI}, "resource": {s.c.Resource}}
	}
	proof := func(method, u string) http.Header {
		p, err := key.Proof(method, u, "", "")
		if err != nil {
			t.Fatal(err)
		}
		return http.Header{"Dpop": {p}}
	}
	for _, tc := range []struct {
		name string
		h    http.Header
	}{
		{"no proof", http.Header{}},
		{"a proof for another URL", proof(http.MethodPost, s.c.Meta.IntrospectionEndpoint)},
		{"a proof for another method", proof(http.MethodGet, s.c.Meta.TokenEndpoint)},
		{"a proof that is no JWT", http.Header{"Dpop": {"a.b.c"}}},
	} {
		status, body := s.c.FormHeader(s.c.Meta.TokenEndpoint, form(), tc.h)
		if status != http.StatusBadRequest || body["error"] != dpop.CodeInvalidProof {
			t.Fatalf("%s: %d %v, want invalid_dpop_proof", tc.name, status, body)
		}
	}
	good := proof(http.MethodPost, s.c.Meta.TokenEndpoint)
	status, tok := s.c.FormHeader(s.c.Meta.TokenEndpoint, form(), good)
	if status != http.StatusOK || tok["token_type"] != "DPoP" {
		t.Fatalf("the code with a good proof: %d %v", status, tok)
	}
	status, body := s.c.FormHeader(s.c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {tok["refresh_token"].(string)}}, good)
	if status != http.StatusBadRequest || body["error"] != dpop.CodeInvalidProof || !strings.Contains(body["error_description"].(string), "used before") {
		t.Fatalf("a replayed proof: %d %v", status, body)
	}
}

// TestToken_BoundRefreshTokenNeedsItsKey: a public client's refresh
// token is bound to the key it was issued with (RFC 9449 §5): refused
// without a proof or with another key's, good with its own.
func TestToken_BoundRefreshTokenNeedsItsKey(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{})
	key := dpopKey(t)
	s.c.DPoP = key
	_, refresh := s.tokens(t)
	refreshForm := func() url.Values { return url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}} }

	s.c.DPoP = nil
	status, body := s.c.Form(s.c.Meta.TokenEndpoint, refreshForm())
	wantOAuthError(t, status, body, http.StatusBadRequest, dpop.CodeInvalidProof)
	s.c.DPoP = dpopKey(t)
	status, body = s.c.Form(s.c.Meta.TokenEndpoint, refreshForm())
	wantOAuthError(t, status, body, http.StatusBadRequest, dpop.CodeInvalidProof)

	s.c.DPoP = key
	status, tok := s.c.Form(s.c.Meta.TokenEndpoint, refreshForm())
	if status != http.StatusOK || tok["token_type"] != "DPoP" {
		t.Fatalf("refresh with its key: %d %v", status, tok)
	}
	if _, info := s.c.Introspect(tok["access_token"].(string), testkit.ResourceClientID, testkit.ResourceSecret); jktOf(info) != key.JKT() {
		t.Fatalf("the refreshed access token is not bound to the key: %v", info)
	}
}

// TestToken_DPoPNonce: with nonces on, a proof without the server's
// nonce gets use_dpop_nonce and a DPoP-Nonce to retry with (RFC 9449 §8).
func TestToken_DPoPNonce(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.DPoPNonce = true }})
	s.c.DPoP = dpopKey(t)
	form := url.Values{"grant_type": {"authorization_code"}, "code": {s.code}, "code_verifier": {s.authz.Verifier},
		"redirect_uri": {s.c.RedirectURI}, "resource": {s.c.Resource}}
	proof, _ := s.c.DPoP.Proof(http.MethodPost, s.c.Meta.TokenEndpoint, "", "")
	req, _ := http.NewRequest(http.MethodPost, s.c.Meta.TokenEndpoint, strings.NewReader(form.Encode()+"&client_id="+url.QueryEscape(s.c.ClientID)))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(dpop.Header, proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	nonce := resp.Header.Get(dpop.NonceHeader)
	if resp.StatusCode != http.StatusBadRequest || body["error"] != dpop.CodeUseNonce || nonce == "" {
		t.Fatalf("a proof without a nonce: %d %v, DPoP-Nonce %q", resp.StatusCode, body, nonce)
	}
	s.c.Nonce = nonce
	status, tok := s.c.Form(s.c.Meta.TokenEndpoint, form)
	if status != http.StatusOK || tok["token_type"] != "DPoP" {
		t.Fatalf("a proof with the nonce: %d %v", status, tok)
	}
}
