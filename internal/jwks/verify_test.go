package jwks_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/internal/jwks"
)

const (
	issuer   = "https://tasks.example"
	clientID = "tmcp"
)

type keyPair struct {
	kid string
	key *ecdsa.PrivateKey
}

func newKey(t *testing.T, kid string) keyPair {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return keyPair{kid, k}
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, kid string, c jwt.Claims) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: jose.JSONWebKey{Key: key, KeyID: kid}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := jwt.Signed(signer).Claims(c).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestVerifier_Rules(t *testing.T) {
	good := newKey(t, "k1")
	rotated := newKey(t, "k2")
	stranger := newKey(t, "k9")
	var published atomic.Value
	published.Store([]keyPair{good})
	var fetches atomic.Int32
	keySet := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		var set jose.JSONWebKeySet
		for _, k := range published.Load().([]keyPair) {
			set.Keys = append(set.Keys, jose.JSONWebKey{Key: &k.key.PublicKey, KeyID: k.kid, Algorithm: "ES256", Use: "sig"})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer keySet.Close()
	now := time.Now()
	clock := func() time.Time { return now }
	v := jwks.NewVerifier(keySet.URL+"/jwks", issuer, clientID, nil, clock)
	claims := func(mut func(*jwt.Claims)) jwt.Claims {
		cl := jwt.Claims{Issuer: issuer, Subject: "user-1", Audience: jwt.Audience{clientID},
			Expiry: jwt.NewNumericDate(now.Add(time.Hour)), IssuedAt: jwt.NewNumericDate(now)}
		if mut != nil {
			mut(&cl)
		}
		return cl
	}
	pubJSON, _ := json.Marshal(jose.JSONWebKey{Key: &good.key.PublicKey, KeyID: "k1"})

	if _, err := v.Verify(context.Background(), sign(t, jose.ES256, good.key, "k1", claims(nil))); err != nil {
		t.Fatalf("a good token was refused: %v", err)
	}
	cases := map[string]string{
		"OtherIssuer":       sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.Issuer = "https://evil.example" })),
		"OtherAudience":     sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.Audience = jwt.Audience{"someone-else"} })),
		"Expired":           sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-2 * time.Minute)) })),
		"NotYetValid":       sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.NotBefore = jwt.NewNumericDate(now.Add(5 * time.Minute)) })),
		"NoExpiry":          sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.Expiry = nil })),
		"NoSubject":         sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.Subject = "" })),
		"UnknownKey":        sign(t, jose.ES256, stranger.key, "k9", claims(nil)),
		"KnownKidWrongKey":  sign(t, jose.ES256, stranger.key, "k1", claims(nil)),
		"HMACWithPublicKey": sign(t, jose.HS256, pubJSON, "k1", claims(nil)),
		"AlgNone":           "eyJhbGciOiJub25lIiwia2lkIjoiazEifQ." + "eyJpc3MiOiJodHRwczovL3Rhc2tzLmV4YW1wbGUiLCJzdWIiOiJ1c2VyLTEiLCJhdWQiOiJ0bWNwIn0.",
		"NotAJWT":           "tm_at_opaque",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			if _, err := v.Verify(context.Background(), tok); !errors.Is(err, jwks.ErrTokenRejected) {
				t.Fatalf("Verify = %v, want ErrTokenRejected", err)
			}
		})
	}
	t.Run("WithinClockSkew", func(t *testing.T) {
		tok := sign(t, jose.ES256, good.key, "k1", claims(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-30 * time.Second)) }))
		if _, err := v.Verify(context.Background(), tok); err != nil {
			t.Fatalf("a token 30 s past exp was refused despite the 60 s skew: %v", err)
		}
	})
	t.Run("RotatedKeyRefetchedOnce", func(t *testing.T) {
		before := fetches.Load()
		published.Store([]keyPair{good, rotated})
		now = now.Add(time.Minute) // past the refetch gap
		if _, err := v.Verify(context.Background(), sign(t, jose.ES256, rotated.key, "k2", claims(nil))); err != nil {
			t.Fatalf("a token with a newly published key was refused: %v", err)
		}
		if got := fetches.Load() - before; got != 1 {
			t.Fatalf("%d JWKS fetches for one unknown kid, want 1", got)
		}
		for i := 0; i < 3; i++ {
			_, _ = v.Verify(context.Background(), sign(t, jose.ES256, stranger.key, "k9", claims(nil)))
		}
		if got := fetches.Load() - before; got != 1 {
			t.Fatalf("unknown kids refetched the JWKS %d times within the refetch gap", got-1)
		}
	})
	if !jwks.LooksLikeJWT(cases["HMACWithPublicKey"]) || jwks.LooksLikeJWT("tm_at_opaque") {
		t.Fatal("LooksLikeJWT misjudges tokens")
	}
}
