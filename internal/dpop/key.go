package dpop

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/url"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// Key is a client's DPoP key: it signs a fresh proof for every request
// (§4.2). `flow test --dpop` and the tests use it.
type Key struct {
	signer jose.Signer
	public jose.JSONWebKey
	jkt    string
	now    func() time.Time
}

// NewKey makes a fresh ES256 key (P-256), the algorithm every DPoP
// client supports.
func NewKey() (*Key, error) {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	return NewKeyFrom(priv, jose.ES256)
}

// NewKeyFrom makes a Key of an existing private key and its algorithm.
func NewKeyFrom(priv crypto.Signer, alg jose.SignatureAlgorithm) (*Key, error) {
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: string(alg)}
	opts := (&jose.SignerOptions{EmbedJWK: true}).WithType(typ)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv}, opts)
	if err != nil {
		return nil, err
	}
	jkt, err := Thumbprint(&pub)
	if err != nil {
		return nil, err
	}
	return &Key{signer: s, public: pub, jkt: jkt, now: time.Now}, nil
}

// JKT is the key's thumbprint: what a token bound to it names (§6.1).
func (k *Key) JKT() string { return k.jkt }

// WithClock makes proofs with now as their iat (tests).
func (k *Key) WithClock(now func() time.Time) *Key {
	c := *k
	c.now = now
	return &c
}

// ProofClaims are a proof's claims before signing; Claims gives the
// usual ones, which a caller (a test) may change before Sign.
type ProofClaims struct {
	JTI   string `json:"jti"`
	HTM   string `json:"htm"`
	HTU   string `json:"htu"`
	IAT   int64  `json:"iat"`
	ATH   string `json:"ath,omitempty"`
	Nonce string `json:"nonce,omitempty"`
}

// Claims are the claims of a proof for a request of method to uri, sent
// with accessToken ("" for none) and the server's nonce ("" for none):
// htu is uri without query and fragment (§4.2).
func (k *Key) Claims(method, uri, accessToken, nonce string) ProofClaims {
	c := ProofClaims{JTI: secrets.Random(16), HTM: method, HTU: stripQuery(uri), IAT: k.now().Unix(), Nonce: nonce}
	if accessToken != "" {
		c.ATH = TokenHash(accessToken)
	}
	return c
}

// Sign signs c into a proof.
func (k *Key) Sign(c ProofClaims) (string, error) {
	payload, err := json.Marshal(c)
	if err != nil {
		return "", err
	}
	jws, err := k.signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("sign the DPoP proof: %w", err)
	}
	return jws.CompactSerialize()
}

// Proof is a fresh proof for one request (see Claims).
func (k *Key) Proof(method, uri, accessToken, nonce string) (string, error) {
	return k.Sign(k.Claims(method, uri, accessToken, nonce))
}

func stripQuery(uri string) string {
	u, err := url.Parse(uri)
	if err != nil {
		return uri
	}
	u.RawQuery, u.Fragment, u.RawFragment, u.ForceQuery = "", "", "", false
	return u.String()
}
