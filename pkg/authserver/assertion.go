package authserver

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
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

// identityAssertion is a token exchange (RFC 8693) with requested_token_type
// jwt: a resource server presents a user's MCP token issued for it and an
// audience (the MCP server it gateways to) and gets a short-lived JWT,
// signed with tmcp's keys, saying who the user is.
func (s *Server) identityAssertion(w http.ResponseWriter, r *http.Request, rs *ResourceServer) {
	f := r.PostForm
	aud, err := url.Parse(f.Get("audience"))
	switch {
	case f.Get("subject_token") == "":
		s.writeError(w, r, oauth.InvalidRequest("subject_token is missing"))
		return
	case f.Get("subject_token_type") != oauth.TokenTypeAccessToken:
		s.writeError(w, r, oauth.InvalidRequest("subject_token_type must be "+oauth.TokenTypeAccessToken))
		return
	case err != nil || (aud.Scheme != "http" && aud.Scheme != "https") || aud.Host == "" || aud.Fragment != "":
		s.writeError(w, r, oauth.NewError(oauth.CodeInvalidTarget, "audience must be the http(s) URL of the MCP server the assertion is for"))
		return
	}
	t, g, ok, err := s.liveAccessToken(r, f.Get("subject_token"))
	if err != nil {
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	if !ok || !oauth.SameResource(g.Resource, rs.Resource) {
		s.writeError(w, r, oauth.InvalidGrant("the subject token is not an active token for this resource"))
		return
	}
	now := s.now()
	exp := now.Add(maxAssertionTTL)
	if t.ExpiresAt.Before(exp) {
		exp = t.ExpiresAt // never past the MCP token
	}
	kid, key, err := s.signer(r.Context())
	if err != nil {
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: key, KeyID: kid}},
		(&jose.SignerOptions{}).WithType(AssertionType))
	if err != nil {
		s.writeError(w, r, oauth.ServerError("could not sign the assertion"))
		return
	}
	claims := identityClaims{
		Claims: jwt.Claims{Issuer: s.cfg.Issuer, Subject: g.Subject, Audience: jwt.Audience{aud.String()},
			Expiry: jwt.NewNumericDate(exp), IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ID: secrets.Random(16)},
		ClientID: g.ClientID, Scope: t.Scope, Username: g.Username,
	}
	if strings.Contains(g.Username, "@") {
		claims.Email = g.Username
	}
	signed, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		s.writeError(w, r, oauth.ServerError("could not sign the assertion"))
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, ExchangeResponse{
		AccessToken: signed, IssuedTokenType: oauth.TokenTypeJWT, TokenType: "N_A",
		ExpiresIn: int64(exp.Sub(now) / time.Second),
	})
}
