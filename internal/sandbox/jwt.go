package sandbox

import (
	"net/http"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// accessClaims are the claims of a JWT access token (RFC 9068 §2.2), with
// the audience set to the client the token was issued to, and the user's
// address, verified: the sandbox's only user is the operator's own.
type accessClaims struct {
	jwt.Claims
	ClientID      string `json:"client_id"`
	Scope         string `json:"scope"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
}

func (s *Server) signAccessToken(r *http.Request, clientID, userID, scope string, now time.Time) (string, error) {
	u, err := s.db.userByID(r.Context(), userID)
	if err != nil {
		return "", err
	}
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: s.key, KeyID: s.kid}},
		(&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return "", err
	}
	c := accessClaims{
		Claims: jwt.Claims{
			Issuer: s.cfg.JWTIssuer, Subject: u.ID, Audience: jwt.Audience{clientID},
			Expiry: jwt.NewNumericDate(now.Add(s.cfg.AccessTTL)), IssuedAt: jwt.NewNumericDate(now),
			NotBefore: jwt.NewNumericDate(now), ID: secrets.Random(16),
		},
		ClientID: clientID, Scope: scope, Email: u.Email, EmailVerified: true,
	}
	return jwt.Signed(signer).Claims(c).Serialize()
}
