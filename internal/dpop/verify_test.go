package dpop

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

var t0 = time.Unix(1_800_000_000, 0)

const (
	mcpURL = "https://mcp.example.com/mcp"
	token  = "tmcp_at_example"
)

func clock() func() time.Time { return func() time.Time { return t0 } }

func newKey(t *testing.T) *Key {
	t.Helper()
	k, err := NewKey()
	if err != nil {
		t.Fatal(err)
	}
	return k.WithClock(clock())
}

func header(proof string) http.Header {
	h := http.Header{}
	h.Set(Header, proof)
	return h
}

func b64(v any) string {
	raw, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// handMade signs any header and claims with an ES256 key, so a test can
// send what no well-behaved library would.
func handMade(t *testing.T, priv *ecdsa.PrivateKey, hdr map[string]any, c any) string {
	t.Helper()
	input := b64(hdr) + "." + b64(c)
	sum := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, priv, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	s.FillBytes(sig[32:])
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func publicJWK(priv *ecdsa.PrivateKey, private bool) map[string]any {
	raw, _ := json.Marshal(jose.JSONWebKey{Key: &priv.PublicKey})
	var m map[string]any
	json.Unmarshal(raw, &m)
	if private {
		d, _ := priv.Bytes()
		m["d"] = base64.RawURLEncoding.EncodeToString(d)
	}
	return m
}

// TestCheck_RFC9449Section43 walks the checks of RFC 9449 §4.3: each
// proof must be refused with invalid_dpop_proof, and the good one pass.
func TestCheck_RFC9449Section43(t *testing.T) {
	k := newKey(t)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := func() ProofClaims { return k.Claims(http.MethodPost, mcpURL, token, "") }
	sign := func(c ProofClaims) string {
		p, err := k.Sign(c)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	hmacProof := func() string {
		input := b64(map[string]any{"typ": "dpop+jwt", "alg": "HS256", "jwk": publicJWK(priv, false)}) + "." + b64(good())
		m := hmac.New(sha256.New, []byte("secret"))
		m.Write([]byte(input))
		return input + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	}
	rsaKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	rk, err := NewKeyFrom(rsaKey, jose.PS256)
	if err != nil {
		t.Fatal(err)
	}
	rk = rk.WithClock(clock())
	ps256, _ := rk.Proof(http.MethodPost, mcpURL, token, "")

	tests := []struct {
		name   string
		header http.Header
		method string
		uri    string
		want   string // "" passes
	}{
		{"a good proof passes", header(sign(good())), "POST", mcpURL, ""},
		{"a PS256 proof passes", header(ps256), "POST", mcpURL, ""},
		{"htu ignores query, default port and case", header(sign(good())), "POST", "HTTPS://MCP.example.com:443/mcp?x=1", ""},
		{"typ in capitals passes (RFC 7515 §4.1.9)", header(handMade(t, priv, map[string]any{"typ": "DPoP+JWT", "alg": "ES256", "jwk": publicJWK(priv, false)}, good())), "POST", mcpURL, ""},
		{"two DPoP headers (check 1)", func() http.Header { h := header(sign(good())); h.Add(Header, sign(good())); return h }(), "POST", mcpURL, "more than one"},
		{"not a JWS (check 2)", header("not-a-jwt"), "POST", mcpURL, "single compact JWS"},
		{"typ is not dpop+jwt (check 4)", header(handMade(t, priv, map[string]any{"typ": "JWT", "alg": "ES256", "jwk": publicJWK(priv, false)}, good())), "POST", mcpURL, "typ"},
		{"no jwk (check 3)", header(handMade(t, priv, map[string]any{"typ": "dpop+jwt", "alg": "ES256"}, good())), "POST", mcpURL, "jwk"},
		{"alg none (check 5)", header(b64(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": publicJWK(priv, false)}) + "." + b64(good()) + "."), "POST", mcpURL, "signed with one of"},
		{"a MAC alg (check 5)", header(hmacProof()), "POST", mcpURL, "signed with one of"},
		{"signature by another key (check 6)", header(handMade(t, priv, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": k.public}, good())), "POST", mcpURL, "signature"},
		{"a private key in jwk (check 7)", header(handMade(t, priv, map[string]any{"typ": "dpop+jwt", "alg": "ES256", "jwk": publicJWK(priv, true)}, good())), "POST", mcpURL, "signed with one of"},
		{"no jti (check 3)", header(sign(func() ProofClaims { c := good(); c.JTI = ""; return c }())), "POST", mcpURL, "lacks"},
		{"no iat (check 3)", header(sign(func() ProofClaims { c := good(); c.IAT = 0; return c }())), "POST", mcpURL, "lacks"},
		{"wrong htm (check 8)", header(sign(good())), "GET", mcpURL, "htm"},
		{"lowercase htm (check 8)", header(sign(func() ProofClaims { c := good(); c.HTM = "post"; return c }())), "POST", mcpURL, "htm"},
		{"wrong htu path (check 9)", header(sign(good())), "POST", "https://mcp.example.com/other", "htu"},
		{"wrong htu host (check 9)", header(sign(good())), "POST", "https://evil.example.com/mcp", "htu"},
		{"stale iat (check 11)", header(sign(func() ProofClaims { c := good(); c.IAT = t0.Add(-2 * DefaultWindow).Unix(); return c }())), "POST", mcpURL, "iat"},
		{"iat from the future (check 11)", header(sign(func() ProofClaims { c := good(); c.IAT = t0.Add(2 * DefaultWindow).Unix(); return c }())), "POST", mcpURL, "iat"},
		{"no ath (check 12)", header(sign(func() ProofClaims { c := good(); c.ATH = ""; return c }())), "POST", mcpURL, "ath"},
		{"ath of another token (check 12)", header(sign(func() ProofClaims { c := good(); c.ATH = TokenHash("other"); return c }())), "POST", mcpURL, "ath"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			v := NewVerifier(Config{Now: clock()})
			p, err := v.Check(tc.header, tc.method, tc.uri, token)
			if tc.want == "" {
				if err != nil || p == nil {
					t.Fatalf("Check = %v, %v; want a pass", p, err)
				}
				return
			}
			if err == nil || err.Code != CodeInvalidProof || !strings.Contains(err.Description, tc.want) {
				t.Fatalf("Check = %v; want invalid_dpop_proof about %q", err, tc.want)
			}
		})
	}
}

// TestSpend_AProofIsGoodOnce is the replay check of RFC 9449 §11.1, also
// when the same proof arrives twice at once.
func TestSpend_AProofIsGoodOnce(t *testing.T) {
	k := newKey(t)
	v := NewVerifier(Config{Now: clock()})
	proof, _ := k.Proof("POST", mcpURL, token, "")
	var wg sync.WaitGroup
	results := make(chan error, 8)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p, cerr := v.Check(header(proof), "POST", mcpURL, token)
			if cerr != nil {
				results <- cerr
				return
			}
			results <- v.Spend(p)
		}()
	}
	wg.Wait()
	close(results)
	passed := 0
	for err := range results {
		if err == nil {
			passed++
		} else if e, ok := err.(*Error); !ok || e.Code != CodeInvalidProof {
			t.Fatalf("a replay got %v", err)
		}
	}
	if passed != 1 {
		t.Fatalf("%d of 8 presentations of one proof passed", passed)
	}
	fresh, _ := k.Proof("POST", mcpURL, token, "")
	p, cerr := v.Check(header(fresh), "POST", mcpURL, token)
	if cerr != nil || v.Spend(p) != nil {
		t.Fatal("a fresh proof of the same key was refused")
	}
}

// TestSpend_AFullReplayCacheIsAFault: a full cache neither forgets a
// proof nor calls a new one a replay.
func TestSpend_AFullReplayCacheIsAFault(t *testing.T) {
	k := newKey(t)
	v := NewVerifier(Config{Now: clock(), MaxProofs: 1})
	for i, want := range []bool{true, false} {
		proof, _ := k.Proof("POST", mcpURL, token, "")
		p, cerr := v.Check(header(proof), "POST", mcpURL, token)
		if cerr != nil {
			t.Fatal(cerr)
		}
		err := v.Spend(p)
		if (err == nil) != want {
			t.Fatalf("proof %d: Spend = %v", i, err)
		}
		if _, verdict := err.(*Error); verdict {
			t.Fatalf("a full cache refused a proof as a replay: %v", err)
		}
	}
}

// TestCheck_NonceWhenRequired: with nonces required (RFC 9449 §8, §9) a
// proof without one, or with a stale or forged one, gets use_dpop_nonce;
// the server's own current nonce passes.
func TestCheck_NonceWhenRequired(t *testing.T) {
	k := newKey(t)
	now := t0
	v := NewVerifier(Config{Now: func() time.Time { return now }, RequireNonce: true})
	other := NewVerifier(Config{Now: clock(), RequireNonce: true})
	stale := v.Nonce()
	now = now.Add(NonceLifetime)
	k = k.WithClock(func() time.Time { return now })
	for _, tc := range []struct {
		name, nonce string
		pass        bool
	}{
		{"none", "", false},
		{"stale", stale, false},
		{"another server's", other.Nonce(), false},
		{"forged", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", false},
		{"current", v.Nonce(), true},
	} {
		proof, _ := k.Proof("POST", mcpURL, token, tc.nonce)
		_, err := v.Check(header(proof), "POST", mcpURL, token)
		if tc.pass != (err == nil) || (!tc.pass && err.Code != CodeUseNonce) {
			t.Errorf("%s nonce: Check = %v", tc.name, err)
		}
	}
}

// TestThumbprint_RFC7638Example is the example of RFC 7638 §3.1.
func TestThumbprint_RFC7638Example(t *testing.T) {
	var k jose.JSONWebKey
	err := k.UnmarshalJSON([]byte(`{"kty":"RSA","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB","alg":"RS256","kid":"2011-04-29"}`))
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := Thumbprint(&k); got != "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs" {
		t.Fatalf("Thumbprint = %s", got)
	}
}

// BenchmarkCheckAndSpend is one proof checked and spent: what DPoP adds
// to a request at the MCP server.
func BenchmarkCheckAndSpend(b *testing.B) {
	k, err := NewKey()
	if err != nil {
		b.Fatal(err)
	}
	v := NewVerifier(Config{MaxProofs: b.N + 1})
	headers := make([]http.Header, b.N)
	for i := range headers {
		p, _ := k.Proof(http.MethodPost, mcpURL, token, "")
		headers[i] = header(p)
	}
	b.ResetTimer()
	for i := range b.N {
		p, cerr := v.Check(headers[i], http.MethodPost, mcpURL, token)
		if cerr != nil {
			b.Fatal(cerr)
		}
		if err := v.Spend(p); err != nil {
			b.Fatal(err)
		}
	}
}

// TestCheck_AKnownHeaderStillNeedsItsSignature: once a key's header was
// checked, a proof with the same header and a forged signature, or
// claims swapped under the old signature, is still refused (§4.3 check 6).
func TestCheck_AKnownHeaderStillNeedsItsSignature(t *testing.T) {
	k := newKey(t)
	v := NewVerifier(Config{Now: clock()})
	first, _ := k.Proof(http.MethodPost, mcpURL, token, "")
	if _, err := v.Check(header(first), http.MethodPost, mcpURL, token); err != nil {
		t.Fatal(err)
	}
	second, _ := k.Proof(http.MethodPost, mcpURL, token, "")
	parts := strings.Split(second, ".")
	firstParts := strings.Split(first, ".")
	forged := []string{
		parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64)),
		parts[0] + "." + parts[1] + "." + firstParts[2],
		parts[0] + "." + b64(map[string]any{"jti": "x", "htm": "POST", "htu": mcpURL, "iat": t0.Unix(), "ath": TokenHash(token)}) + "." + parts[2],
	}
	for i, f := range forged {
		if _, err := v.Check(header(f), http.MethodPost, mcpURL, token); err == nil || !strings.Contains(err.Description, "signature") {
			t.Errorf("forgery %d: Check = %v", i, err)
		}
	}
	if _, err := v.Check(header(second), http.MethodPost, mcpURL, token); err != nil {
		t.Fatalf("the genuine second proof: %v", err)
	}
}
