// Package jwks verifies JWTs against a JSON Web Key Set fetched from a
// URL: cached, refetched once when a token names an unknown key, with an
// allow-list of asymmetric algorithms. tmcp uses it for TaskManager's
// tokens and for its own JWT access tokens at the resource server.
package jwks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Algorithms accepted in TaskManager's JWTs: asymmetric only. "none" and
// the HMAC family are absent, so a token "signed" with the public key as an
// HMAC secret cannot verify.
var allowedAlgorithms = []jose.SignatureAlgorithm{
	jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512, jose.EdDSA,
}

// ClockSkew is how far apart tmcp's and TaskManager's clocks may be.
const ClockSkew = time.Minute

// Claims are what tmcp reads from a verified TaskManager JWT.
type Claims struct {
	jwt.Claims
	Email             string `json:"email,omitempty"`
	PreferredUsername string `json:"preferred_username,omitempty"`
	Name              string `json:"name,omitempty"`
	Scope             string `json:"scope,omitempty"`
	ClientID          string `json:"client_id,omitempty"`
	Username          string `json:"username,omitempty"`
	// All is every claim, for settings that name one (a username or
	// groups claim).
	All map[string]any `json:"-"`
}

// ErrTokenRejected wraps every reason a JWT is refused.
var ErrTokenRejected = errors.New("the token failed verification")

// Verifier checks TaskManager's JWTs against its JWKS, which it caches and
// refetches once when a token names an unknown key.
type Verifier struct {
	jwksURL  string
	issuer   string
	audience string
	http     *http.Client
	now      func() time.Time

	typ string

	mu        sync.Mutex
	keys      *jose.JSONWebKeySet
	fetchedAt time.Time
}

// RequireType makes Verify accept only tokens whose typ header is typ
// (RFC 9068 §4: "at+jwt" for access tokens).
func (v *Verifier) RequireType(typ string) *Verifier {
	v.typ = typ
	return v
}

// jwksTTL is how long a fetched key set is trusted; refetchGap limits how
// often an unknown kid may trigger a fetch.
const (
	jwksTTL    = 10 * time.Minute
	refetchGap = 10 * time.Second
)

// NewVerifier verifies tokens from issuer for audience, with the keys at
// jwksURL.
func NewVerifier(jwksURL, issuer, audience string, hc *http.Client, now func() time.Time) *Verifier {
	if now == nil {
		now = time.Now
	}
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second, Transport: http.DefaultTransport.(*http.Transport).Clone()} // a pool of its own
	}
	return &Verifier{jwksURL: jwksURL, issuer: issuer, audience: audience, http: hc, now: now}
}

// LooksLikeJWT reports whether s has the compact JWS form (three
// base64url parts); opaque tokens are left to userinfo.
func LooksLikeJWT(s string) bool {
	parts := strings.Split(s, ".")
	if len(parts) != 3 || parts[0] == "" || parts[2] == "" {
		return false
	}
	_, err := jwt.ParseSigned(s, allowedAlgorithms)
	return err == nil || strings.Contains(err.Error(), "unexpected signature algorithm")
}

// Verify checks signature, algorithm, issuer, audience and lifetime.
func (v *Verifier) Verify(ctx context.Context, raw string) (*Claims, error) {
	tok, err := jwt.ParseSigned(raw, allowedAlgorithms)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenRejected, err)
	}
	if len(tok.Headers) != 1 {
		return nil, fmt.Errorf("%w: expected one signature", ErrTokenRejected)
	}
	if typ, _ := tok.Headers[0].ExtraHeaders[jose.HeaderType].(string); v.typ != "" && !strings.EqualFold(typ, v.typ) {
		return nil, fmt.Errorf("%w: typ %q, want %q", ErrTokenRejected, typ, v.typ)
	}
	key, err := v.key(ctx, tok.Headers[0].KeyID)
	if err != nil {
		return nil, err
	}
	var c Claims
	if err := tok.Claims(key, &c, &c.All); err != nil {
		return nil, fmt.Errorf("%w: bad signature: %v", ErrTokenRejected, err)
	}
	if c.Expiry == nil {
		return nil, fmt.Errorf("%w: no exp claim", ErrTokenRejected)
	}
	exp := jwt.Expected{Issuer: v.issuer, AnyAudience: jwt.Audience{v.audience}, Time: v.now()}
	if err := c.ValidateWithLeeway(exp, ClockSkew); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTokenRejected, err)
	}
	if c.Subject == "" {
		return nil, fmt.Errorf("%w: no sub claim", ErrTokenRejected)
	}
	return &c, nil
}

// key finds the public key kid names, refetching the key set once if the
// cache is stale or lacks it.
func (v *Verifier) key(ctx context.Context, kid string) (any, error) {
	v.mu.Lock()
	defer v.mu.Unlock()
	now := v.now()
	find := func() any {
		if v.keys == nil {
			return nil
		}
		for _, k := range v.keys.Keys {
			if (kid == "" || k.KeyID == kid) && k.Valid() && k.IsPublic() {
				return k.Key
			}
		}
		return nil
	}
	if k := find(); k != nil && now.Sub(v.fetchedAt) < jwksTTL {
		return k, nil
	}
	if v.keys == nil || now.Sub(v.fetchedAt) >= refetchGap {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, v.jwksURL, nil)
		if err != nil {
			return nil, err
		}
		set, err := fetchSet(v.http, req)
		if err != nil {
			return nil, fmt.Errorf("fetch the JWKS at %s: %w", v.jwksURL, err)
		}
		v.keys, v.fetchedAt = set, now
	}
	if k := find(); k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: signed by key %q, which the JWKS does not list", ErrTokenRejected, kid)
}

func fetchSet(hc *http.Client, req *http.Request) (*jose.JSONWebKeySet, error) {
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&set); err != nil {
		return nil, errors.New("the answer is not a JSON Web Key Set")
	}
	return &set, nil
}
