// Package dpop is OAuth 2.0 Demonstrating Proof of Possession (RFC 9449)
// for every side of tmcp: the checks of a DPoP proof (§4.3) with its
// replay check (§11.1) and server nonces (§8, §9), the key thumbprint a
// token is bound to (§6, RFC 7638), and, for `flow test` and tests, a
// client key that signs proofs (§4.2).
package dpop

import (
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	jose "github.com/go-jose/go-jose/v4"
)

// Header is the request header a proof travels in and NonceHeader the
// response header a server nonce does (RFC 9449 §4.1, §8.1).
const (
	Header      = "DPoP"
	NonceHeader = "DPoP-Nonce"
	// Scheme is the Authorization scheme of a DPoP-bound token (§7.1).
	Scheme = "DPoP"
	// TokenType is the token_type of a DPoP-bound token (§5).
	TokenType = "DPoP"
	// typ is the proof's JOSE type (§4.2).
	typ = "dpop+jwt"
)

// Error codes of RFC 9449 §12.2.
const (
	CodeInvalidProof = "invalid_dpop_proof"
	CodeUseNonce     = "use_dpop_nonce"
)

// Algs is what tmcp accepts a proof signed with: asymmetric algorithms
// only (§4.3 check 5 refuses "none" and MACs), in the order advertised as
// dpop_signing_alg_values_supported (RFC 8414 metadata, §5.1) and in
// the algs of a DPoP challenge (§7.1).
var Algs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.ES512, jose.RS256, jose.PS256, jose.EdDSA}

// AlgNames is Algs as strings.
func AlgNames() []string {
	out := make([]string, len(Algs))
	for i, a := range Algs {
		out[i] = string(a)
	}
	return out
}

// AlgList is Algs joined by spaces, for a challenge's algs parameter.
func AlgList() string { return strings.Join(AlgNames(), " ") }

// Error is a proof refused: Code is invalid_dpop_proof or use_dpop_nonce,
// Description says why in one line a developer can act on.
type Error struct {
	Code        string
	Description string
}

func (e *Error) Error() string { return e.Code + ": " + e.Description }

func invalid(description string) *Error {
	return &Error{Code: CodeInvalidProof, Description: description}
}

// Thumbprint is the RFC 7638 SHA-256 thumbprint of key, base64url
// without padding: the jkt a token is bound to (§6.1).
func Thumbprint(key *jose.JSONWebKey) (string, error) {
	raw, err := key.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(raw), nil
}

// TokenHash is the ath of a proof sent with accessToken: the base64url
// SHA-256 of its ASCII value (§4.2).
func TokenHash(accessToken string) string {
	sum := sha256.Sum256([]byte(accessToken))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
