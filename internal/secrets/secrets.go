// Package secrets makes and protects tmcp's secrets: random opaque tokens
// with readable prefixes (so secret scanners spot leaks), their storage
// hashes, AES-256-GCM sealing of upstream tokens, and key files kept in the
// state directory with mode 0600.
package secrets

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
)

// Prefixes of the opaque strings tmcp hands out.
const (
	PrefixAccessToken  = "tmcp_at_"
	PrefixRefreshToken = "tmcp_rt_"
	PrefixCode         = "tmcp_ac_"
	PrefixClientSecret = "tmcp_cs_"
	PrefixClientID     = "tmcp_ci_"
	// PrefixRegistration marks a registration access token (RFC 7592).
	PrefixRegistration = "tmcp_rat_"
)

// Random returns n random bytes encoded as unpadded base64url.
func Random(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand failed: " + err.Error()) // the platform is broken; nothing is safe
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewToken returns prefix followed by 256 random bits.
func NewToken(prefix string) string { return prefix + Random(32) }

// Hash is what storage keeps of a token: its SHA-256, hex encoded. Tokens
// carry 256 bits of entropy, so an unsalted hash cannot be reversed, and the
// lookup stays a simple primary-key read.
func Hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// MAC signs msg with key (HMAC-SHA-256, base64url).
func MAC(key []byte, msg ...string) string {
	m := hmac.New(sha256.New, key)
	for _, s := range msg {
		m.Write([]byte(s))
		m.Write([]byte{0})
	}
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}
