package dpop

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/ttlcache"
)

// Defaults of a Verifier.
const (
	// DefaultWindow is how far a proof's iat may be from the server's
	// clock, either way (§4.3 check 11, §11.1): wide enough for clocks a
	// little apart, narrow enough that the replay cache stays small.
	DefaultWindow = time.Minute
	// DefaultMaxProofs bounds the replay cache: a minute of proofs at
	// over 1,500 requests a second per instance.
	DefaultMaxProofs = 100_000
	// NonceLifetime is how long a server nonce is accepted (§8, §9).
	NonceLifetime = 5 * time.Minute
	// maxProofSize bounds what is parsed at all; a real proof with an
	// RSA 4096 key is under 2 KiB.
	maxProofSize = 8 << 10
	// maxHeaders bounds the checked proof headers kept (one a client key).
	maxHeaders = 10_000
)

// Config sets up a Verifier.
type Config struct {
	Window    time.Duration // DefaultWindow when 0
	MaxProofs int           // DefaultMaxProofs when 0
	Now       func() time.Time
	// RequireNonce makes every proof carry a nonce this verifier gave
	// (§8 at the auth server, §9 at a resource server).
	RequireNonce bool
	// NonceKey signs nonces; random when empty, so nonces are then good
	// at this instance only.
	NonceKey []byte
}

// Verifier checks proofs (§4.3) and remembers their jti for the replay
// check (§11.1): in memory, per instance, each until its iat leaves the
// window.
type Verifier struct {
	window       time.Duration
	now          func() time.Time
	seen         *ttlcache.Cache[struct{}]
	headers      *ttlcache.Cache[*headerKey]
	requireNonce bool
	nonceKey     []byte
}

// NewVerifier makes a Verifier.
func NewVerifier(cfg Config) *Verifier {
	v := &Verifier{window: cfg.Window, now: cfg.Now, requireNonce: cfg.RequireNonce, nonceKey: cfg.NonceKey}
	if v.window <= 0 {
		v.window = DefaultWindow
	}
	if v.now == nil {
		v.now = time.Now
	}
	if cfg.MaxProofs <= 0 {
		cfg.MaxProofs = DefaultMaxProofs
	}
	v.seen = ttlcache.New[struct{}](cfg.MaxProofs)
	v.headers = ttlcache.New[*headerKey](maxHeaders)
	if len(v.nonceKey) == 0 {
		v.nonceKey = make([]byte, 32)
		if _, err := rand.Read(v.nonceKey); err != nil {
			panic("dpop: no randomness: " + err.Error())
		}
	}
	return v
}

// RequiresNonce reports whether proofs must carry a server nonce.
func (v *Verifier) RequiresNonce() bool { return v.requireNonce }

// Proof is a proof that passed Check.
type Proof struct {
	// JKT is the thumbprint of the proof's key (§6.1).
	JKT string
	// replay is the key the replay check remembers the proof under, and
	// until when.
	replay string
	until  time.Time
}

// claims is a proof's payload (§4.2).
type claims struct {
	JTI   string          `json:"jti"`
	HTM   string          `json:"htm"`
	HTU   string          `json:"htu"`
	IAT   json.RawMessage `json:"iat"`
	ATH   *string         `json:"ath"`
	Nonce *string         `json:"nonce"`
}

// Check is RFC 9449 §4.3 for one request: method and uri are the
// request's (uri as the server is reached from outside, which the proof
// names), accessToken the token sent with it ("" at the token endpoint,
// where no ath may be required). It does not spend the proof: Spend does,
// once whatever else the request needs has been checked, so that proofs
// from anybody cannot fill the replay cache. A nil Proof and nil Error
// means no DPoP header at all.
func (v *Verifier) Check(h http.Header, method, uri, accessToken string) (*Proof, *Error) {
	values := h.Values(Header)
	switch {
	case len(values) == 0:
		return nil, nil
	case len(values) > 1: // check 1
		return nil, invalid("more than one DPoP header")
	}
	raw := values[0]
	if len(raw) > maxProofSize || strings.Count(raw, ".") != 2 { // check 2
		return nil, invalid("the DPoP header is not a single compact JWS")
	}
	now := v.now()
	head, rest, _ := strings.Cut(raw, ".")
	body, sig, _ := strings.Cut(rest, ".")
	var payload []byte
	var jkt string
	if k, ok := v.headers.Get(head, now); ok {
		// The same header (typ, alg, jwk) as a proof already checked: its
		// checks hold for these bytes, so only the signature is left.
		if payload = k.verify(raw[:len(head)+1+len(body)], sig, body); payload == nil { // check 6
			return nil, invalid("the proof's signature does not verify with its jwk")
		}
		jkt = k.jkt
	} else {
		var k *headerKey
		var perr *Error
		if payload, k, perr = parseProof(raw); perr != nil {
			return nil, perr
		}
		jkt = k.jkt
		if k.verify != nil {
			v.headers.Put(head, k, now.Add(headerCacheTTL), now)
		}
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, invalid("the proof's claims are not a JSON object")
	}
	iat, ok := numericDate(c.IAT)
	if c.JTI == "" || c.HTM == "" || c.HTU == "" || !ok { // check 3
		return nil, invalid("the proof lacks one of jti, htm, htu, iat")
	}
	if len(c.JTI) > 256 {
		return nil, invalid("the proof's jti is longer than 256 characters")
	}
	if c.HTM != method { // check 8
		return nil, invalid("the proof's htm is not " + method)
	}
	if !SameURI(c.HTU, uri) { // check 9
		return nil, invalid("the proof's htu is not this request's URI")
	}
	if iat.Before(now.Add(-v.window)) || iat.After(now.Add(v.window)) { // check 11
		return nil, invalid("the proof's iat is outside the accepted window; sign a fresh proof with the current time")
	}
	if v.requireNonce { // check 10
		if c.Nonce == nil || !v.validNonce(*c.Nonce, now) {
			return nil, &Error{Code: CodeUseNonce, Description: "the proof must carry the server's current DPoP-Nonce"}
		}
	}
	if accessToken != "" { // check 12, first half
		if c.ATH == nil || !hmac.Equal([]byte(*c.ATH), []byte(TokenHash(accessToken))) {
			return nil, invalid("the proof's ath is not the hash of the access token sent with it")
		}
	}
	return &Proof{JKT: jkt, replay: secrets.Hash(jkt + "\x00" + c.JTI), until: iat.Add(v.window)}, nil
}

// headerKey is what a proof's header gave, kept by the header's bytes:
// the key's thumbprint, and a check of a signature by that key (nil for
// algorithms checked by go-jose every time).
type headerKey struct {
	jkt    string
	verify func(input, sig, body string) []byte
}

// headerCacheTTL is how long a checked header is kept: a client signs
// every proof with one key, so its header bytes repeat.
const headerCacheTTL = 10 * time.Minute

// parseProof is checks 2 to 7 of §4.3 on a proof whose header is new
// here: go-jose parses it, refusing an unlisted alg and a jwk with
// private members (checks 5 and 7).
func parseProof(raw string) ([]byte, *headerKey, *Error) {
	jws, err := jose.ParseSignedCompact(raw, Algs)
	if err != nil {
		return nil, nil, invalid("the proof is not a JWT signed with one of " + AlgList() + " (" + err.Error() + ")")
	}
	hdr := jws.Signatures[0].Protected
	// check 4; media type names compare without case (RFC 7515 §4.1.9).
	if t, _ := hdr.ExtraHeaders[jose.HeaderType].(string); !strings.EqualFold(t, typ) {
		return nil, nil, invalid(`the proof's typ is not "dpop+jwt"`)
	}
	key := hdr.JSONWebKey
	if key == nil || !key.Valid() { // check 3
		return nil, nil, invalid("the proof carries no usable jwk header")
	}
	if !key.IsPublic() { // check 7
		return nil, nil, invalid("the proof's jwk holds a private key")
	}
	payload, err := jws.Verify(key) // check 6
	if err != nil {
		return nil, nil, invalid("the proof's signature does not verify with its jwk")
	}
	jkt, err := Thumbprint(key)
	if err != nil {
		return nil, nil, invalid("the proof's jwk has no thumbprint")
	}
	return payload, &headerKey{jkt: jkt, verify: fastVerifier(hdr.Algorithm, key.Key)}, nil
}

// fastVerifier checks an ES256 or EdDSA signature (RFC 7518 §3.4, RFC
// 8037 §3.1) over input directly, and returns the decoded payload body,
// nil when the signature is bad. Other algorithms get nil: go-jose
// checks them each time.
func fastVerifier(alg string, pub any) func(input, sig, body string) []byte {
	decode := func(body string) []byte {
		out, err := base64.RawURLEncoding.DecodeString(body)
		if err != nil {
			return nil
		}
		return out
	}
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != string(jose.ES256) || k.Curve != elliptic.P256() {
			return nil
		}
		return func(input, sig, body string) []byte {
			raw, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil || len(raw) != 64 {
				return nil
			}
			sum := sha256.Sum256([]byte(input))
			r, s := new(big.Int).SetBytes(raw[:32]), new(big.Int).SetBytes(raw[32:])
			if !ecdsa.Verify(k, sum[:], r, s) {
				return nil
			}
			return decode(body)
		}
	case ed25519.PublicKey:
		if alg != string(jose.EdDSA) {
			return nil
		}
		return func(input, sig, body string) []byte {
			raw, err := base64.RawURLEncoding.DecodeString(sig)
			if err != nil || !ed25519.Verify(k, []byte(input), raw) {
				return nil
			}
			return decode(body)
		}
	}
	return nil
}

// errReplayCacheFull means the replay cache is full of live proofs: a
// fault (too many proofs at once), never a verdict on this one.
var errReplayCacheFull = errors.New("the DPoP replay cache is full")

// Spend is the replay check (§11.1): a proof is good once, within the
// window of its iat, at this instance. An error that is not an *Error is
// a fault.
func (v *Verifier) Spend(p *Proof) error {
	added, err := v.seen.Add(p.replay, struct{}{}, p.until, v.now())
	switch {
	case errors.Is(err, ttlcache.ErrFull):
		return errReplayCacheFull
	case !added:
		return invalid("the proof was used before; sign a fresh one for every request")
	}
	return nil
}

// numericDate reads an RFC 7519 NumericDate (seconds, possibly with a
// fraction).
func numericDate(raw json.RawMessage) (time.Time, bool) {
	var f float64
	if len(raw) == 0 || json.Unmarshal(raw, &f) != nil || f <= 0 {
		return time.Time{}, false
	}
	sec := int64(f)
	return time.Unix(sec, int64((f-float64(sec))*1e9)), true
}

// SameURI compares a proof's htu with a request's URI the way §4.3
// check 9 says: query and fragment ignored, after RFC 3986 §6.2.2 and
// §6.2.3 normalization (scheme and host case, default port, empty path).
func SameURI(htu, uri string) bool {
	a, ok1 := normalURI(htu)
	b, ok2 := normalURI(uri)
	return ok1 && ok2 && a == b
}

func normalURI(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || u.User != nil {
		return "", false
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "http" && scheme != "https" {
		return "", false
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// Nonce is a fresh server nonce (§8.1): when it was made, MACed with the
// verifier's key, so any instance sharing the key can check it without
// remembering it.
func (v *Verifier) Nonce() string {
	var b [8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(v.now().Unix()))
	copy(b[8:], v.nonceMAC(b[:8]))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func (v *Verifier) nonceMAC(stamp []byte) []byte {
	m := hmac.New(sha256.New, v.nonceKey)
	m.Write([]byte("tmcp dpop nonce\x00"))
	m.Write(stamp)
	return m.Sum(nil)[:16]
}

func (v *Verifier) validNonce(n string, now time.Time) bool {
	b, err := base64.RawURLEncoding.DecodeString(n)
	if err != nil || len(b) != 24 || !hmac.Equal(b[8:], v.nonceMAC(b[:8])) {
		return false
	}
	made := time.Unix(int64(binary.BigEndian.Uint64(b[:8])), 0)
	return !made.After(now.Add(v.window)) && now.Sub(made) < NonceLifetime
}
