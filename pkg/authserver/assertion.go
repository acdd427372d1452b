package authserver

import (
	"net/http"
	"net/url"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
	"github.com/tmcp-dev/tmcp/pkg/store"
)

// AssertionType is the typ header of identity assertions: never at+jwt,
// so no resource server takes one for an access token.
const AssertionType = "tmcp-identity+jwt"

// maxAssertionTTL bounds an identity assertion's life.
const maxAssertionTTL = 5 * time.Minute

// identityClaims say who a gateway's request is from, for the MCP server
// behind it (RFC 9068-style claims, aud = that server's URL).
type identityClaims struct {
	jwt.Claims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Email    string `json:"email,omitempty"`
	Username string `json:"username,omitempty"`
}

// checkAssertionAudience wants the http(s) URL of the MCP server an
// identity assertion is for.
func checkAssertionAudience(raw string) *oauth.Error {
	aud, err := url.Parse(raw)
	if err != nil || (aud.Scheme != "http" && aud.Scheme != "https") || aud.Host == "" || aud.Fragment != "" {
		return oauth.NewError(oauth.CodeInvalidTarget, "audience must be the http(s) URL of the MCP server the assertion is for")
	}
	return nil
}

// identityAssertion answers a token exchange (RFC 8693) with
// requested_token_type jwt: for the user of the MCP token t, a
// short-lived JWT signed with tmcp's keys, saying who the user is to the
// audience (the MCP server behind the calling resource server).
func (s *Server) identityAssertion(w http.ResponseWriter, r *http.Request, t *store.Token, g *store.Grant) {
	now := s.now()
	exp := now.Add(maxAssertionTTL)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt // never past the MCP token
	}
	claims := identityClaims{
		Claims: jwt.Claims{Issuer: s.cfg.Issuer, Subject: g.Subject, Audience: jwt.Audience{r.PostForm.Get("audience")},
			Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: secrets.Random(16)},
		ClientID: g.ClientID, Scope: t.Scope, Username: g.Username, Email: g.Email, // only a verified address
	}
	signed, err := s.signJWT(r.Context(), AssertionType, claims)
	if err != nil {
		s.writeError(w, r, s.unavailable(r.Context(), "signing keys", err))
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, ExchangeResponse{
		AccessToken: signed, IssuedTokenType: oauth.TokenTypeJWT, TokenType: "N_A",
		ExpiresIn: int64(exp.Sub(now) / time.Second),
	})
}
