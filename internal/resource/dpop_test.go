package resource_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

const initializeBody = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"dpop-test","version":"1"}}}`

func newDPoPKey(t *testing.T) *dpop.Key {
	t.Helper()
	k, err := dpop.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// boundToken signs in with a DPoP key: an access token bound to it.
func boundToken(t *testing.T, c *testkit.OAuthClient, key *dpop.Key) string {
	t.Helper()
	c.DPoP = key
	defer func() { c.DPoP = nil }()
	tok := c.SignInForTokens(map[string]string{"scope": "read"})
	if tok["token_type"] != "DPoP" {
		t.Fatalf("token response = %v", tok)
	}
	return tok["access_token"].(string)
}

// dpopPost posts an MCP initialize with Authorization: scheme token and
// proof as its DPoP header (none when "").
func dpopPost(t *testing.T, mcpURL, scheme, token, proof string) *http.Response {
	t.Helper()
	req := testkit.MCPRequest(t, http.MethodPost, mcpURL, token, "", strings.NewReader(initializeBody))
	req.Header.Set("Authorization", scheme+" "+token)
	if proof != "" {
		req.Header.Set(dpop.Header, proof)
	}
	return testkit.Send(t, req)
}

func sign(t *testing.T, k *dpop.Key, c dpop.ProofClaims) string {
	t.Helper()
	p, err := k.Sign(c)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// dpopChallenge is the DPoP challenge of a 401.
func dpopChallenge(t *testing.T, resp *http.Response) oauth.BearerChallenge {
	t.Helper()
	c, err := oauth.ParseChallenge(strings.Join(resp.Header.Values("WWW-Authenticate"), ", "), "DPoP")
	if err != nil {
		t.Fatalf("no DPoP challenge in %q", resp.Header.Values("WWW-Authenticate"))
	}
	return c
}

// TestDPoP_BoundTokenWorksOnlyWithItsKey is RFC 9449 §7 at the MCP
// server, for opaque and JWT access tokens: a DPoP-bound token passes
// with a fresh proof of its key, and is refused as a bearer token, with
// another key's proof, with a proof sent again, made for another URL or
// method, for another token (ath), or too old, and without a proof.
func TestDPoP_BoundTokenWorksOnlyWithItsKey(t *testing.T) {
	t.Parallel()
	for _, format := range []string{authserver.FormatOpaque, authserver.FormatJWT} {
		t.Run(format, func(t *testing.T) {
			t.Parallel()
			stack, c, bearer := full(t, testkit.AuthOptions{Mutate: func(a *authserver.Config) { a.TokenFormat = format }}, "read")
			mcp := stack.Resource.URL()
			key := newDPoPKey(t)
			token := boundToken(t, c, key)
			claims := func() dpop.ProofClaims { return key.Claims(http.MethodPost, mcp, token, "") }

			good := sign(t, key, claims())
			if resp := dpopPost(t, mcp, "DPoP", token, good); resp.StatusCode != http.StatusOK {
				t.Fatalf("the bound token with its key: %d %v", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
			}
			if resp := dpopPost(t, mcp, "Bearer", bearer, ""); resp.StatusCode != http.StatusOK {
				t.Fatalf("a bearer token as bearer: %d", resp.StatusCode)
			}
			other := newDPoPKey(t)
			for _, tc := range []struct {
				name, scheme, token, proof, code string
			}{
				{"as a bearer token", "Bearer", token, "", oauth.CodeInvalidToken},
				{"as a bearer token with a proof", "Bearer", token, sign(t, key, claims()), oauth.CodeInvalidToken},
				{"without a proof", "DPoP", token, "", dpop.CodeInvalidProof},
				{"with another key's proof", "DPoP", token, sign(t, other, other.Claims(http.MethodPost, mcp, token, "")), dpop.CodeInvalidProof},
				{"with a proof sent before", "DPoP", token, good, dpop.CodeInvalidProof},
				{"with a proof for another URL", "DPoP", token, sign(t, key, key.Claims(http.MethodPost, stack.Auth.URL()+"/mcp", token, "")), dpop.CodeInvalidProof},
				{"with a proof for another method", "DPoP", token, sign(t, key, key.Claims(http.MethodGet, mcp, token, "")), dpop.CodeInvalidProof},
				{"with a proof for another token", "DPoP", token, sign(t, key, key.Claims(http.MethodPost, mcp, bearer, "")), dpop.CodeInvalidProof},
				{"with a stale proof", "DPoP", token, sign(t, key, func() dpop.ProofClaims {
					c := claims()
					c.IAT = time.Now().Add(-5 * time.Minute).Unix()
					return c
				}()), dpop.CodeInvalidProof},
				{"a bearer token with the DPoP scheme", "DPoP", bearer, sign(t, key, key.Claims(http.MethodPost, mcp, bearer, "")), oauth.CodeInvalidToken},
			} {
				resp := dpopPost(t, mcp, tc.scheme, tc.token, tc.proof)
				ch := dpopChallenge(t, resp)
				if resp.StatusCode != http.StatusUnauthorized || ch.Error != tc.code || ch.ResourceMetadata == "" || ch.Algs == "" {
					t.Errorf("%s: %d %q, want 401 with DPoP error=%s", tc.name, resp.StatusCode, resp.Header.Values("WWW-Authenticate"), tc.code)
				}
				if b, _ := oauth.ParseBearerChallenge(resp.Header.Get("WWW-Authenticate")); b.Error != "" {
					t.Errorf("%s: the Bearer challenge carries an error too: %q", tc.name, resp.Header.Values("WWW-Authenticate"))
				}
			}
		})
	}
}

// TestDPoP_ChallengesByteForByte: a 401 names both schemes, Bearer first
// for clients that read one field (RFC 9449 §7.1, RFC 6750 §3), and only
// DPoP when DPoP is required.
func TestDPoP_ChallengesByteForByte(t *testing.T) {
	t.Parallel()
	for _, required := range []bool{false, true} {
		stack, _, _ := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.RequireDPoP = required }}, "read")
		resp := dpopPost(t, stack.Resource.URL(), "Bearer", "", "")
		params := `resource_metadata="` + prmURL(stack) + `", scope="read"`
		want := []string{"Bearer " + params, `DPoP ` + params + `, algs="ES256 ES384 ES512 RS256 PS256 EdDSA"`}
		if required {
			want = want[1:]
		}
		if got := resp.Header.Values("WWW-Authenticate"); resp.StatusCode != http.StatusUnauthorized || strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("required=%v: %d\n%s\nwant\n%s", required, resp.StatusCode, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
}

// TestDPoP_RequiredRefusesBearerTokens: with RequireDPoP the MCP server
// refuses a bearer token (RFC 9449 §7.1) and says so in its metadata
// (RFC 9728 dpop_bound_access_tokens_required); a bound token works.
func TestDPoP_RequiredRefusesBearerTokens(t *testing.T) {
	t.Parallel()
	stack, c, bearer := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.RequireDPoP = true }}, "read")
	mcp := stack.Resource.URL()
	resp := dpopPost(t, mcp, "Bearer", bearer, "")
	if ch := dpopChallenge(t, resp); resp.StatusCode != http.StatusUnauthorized || ch.Error != oauth.CodeInvalidToken {
		t.Fatalf("a bearer token: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	if len(resp.Header.Values("WWW-Authenticate")) != 1 {
		t.Fatalf("a Bearer challenge where DPoP is required: %q", resp.Header.Values("WWW-Authenticate"))
	}
	key := newDPoPKey(t)
	token := boundToken(t, c, key)
	proof, _ := key.Proof(http.MethodPost, mcp, token, "")
	if resp := dpopPost(t, mcp, "DPoP", token, proof); resp.StatusCode != http.StatusOK {
		t.Fatalf("a bound token with its key: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
	meta := testkit.Send(t, testkit.BearerRequest(t, http.MethodGet, prmURL(stack), "", nil))
	var prm map[string]any
	json.NewDecoder(meta.Body).Decode(&prm)
	if prm["dpop_bound_access_tokens_required"] != true {
		t.Fatalf("metadata = %v", prm)
	}
}

// TestDPoP_NonceAtTheMCPServer: with DPoPNonce the MCP server answers a
// proof without its nonce 401 use_dpop_nonce with a DPoP-Nonce, and the
// retry with it passes (RFC 9449 §9).
func TestDPoP_NonceAtTheMCPServer(t *testing.T) {
	t.Parallel()
	stack, c, _ := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) { c.DPoPNonce = true }}, "read")
	mcp := stack.Resource.URL()
	key := newDPoPKey(t)
	token := boundToken(t, c, key)
	proof, _ := key.Proof(http.MethodPost, mcp, token, "")
	resp := dpopPost(t, mcp, "DPoP", token, proof)
	nonce := resp.Header.Get(dpop.NonceHeader)
	if ch := dpopChallenge(t, resp); resp.StatusCode != http.StatusUnauthorized || ch.Error != dpop.CodeUseNonce || nonce == "" {
		t.Fatalf("a proof without a nonce: %d %q nonce %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"), nonce)
	}
	proof, _ = key.Proof(http.MethodPost, mcp, token, nonce)
	if resp := dpopPost(t, mcp, "DPoP", token, proof); resp.StatusCode != http.StatusOK {
		t.Fatalf("the retry with the nonce: %d %q", resp.StatusCode, resp.Header.Values("WWW-Authenticate"))
	}
}
