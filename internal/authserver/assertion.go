package authserver

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// AssertionType is the typ header of identity assertions: never at+jwt,
// so no resource server takes one for an access token.
const AssertionType = "tmcp-identity+jwt"

// maxAssertionTTL bounds an identity assertion's life.
const maxAssertionTTL = 5 * time.Minute

// identityClaims say who a gateway's request is from, for the MCP server
// behind it (RFC 9068-style claims, aud = that server's URL, a fresh jti
// each time).
type identityClaims struct {
	jwt.Claims
	// Resource is the MCP server (RFC 8707 resource) the user's token is
	// for: the gateway the assertion was minted through.
	Resource string `json:"resource"`
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	Email    string `json:"email,omitempty"`
	Username string `json:"username,omitempty"`
}

// checkAssertionAudience wants the URL of an MCP server configured behind
// the calling resource server (RFC 8693 §2.2.2 invalid_target otherwise):
// a resource server cannot mint assertions that another MCP server, or
// any other service trusting tmcp's keys, would take for its own.
func checkAssertionAudience(rs *ResourceServer, raw string) *oauth.Error {
	if !httpURL(raw) {
		return oauth.NewError(oauth.CodeInvalidTarget, "audience must be the http(s) URL of the MCP server the assertion is for")
	}
	if !slices.ContainsFunc(rs.AssertionAudiences, func(aud string) bool { return oauth.SameResource(aud, raw) }) {
		return oauth.NewError(oauth.CodeInvalidTarget, "audience is not an MCP server configured behind this resource server (serve auth --assertion-audience)")
	}
	return nil
}

// httpURL reports whether raw is an absolute http(s) URL without fragment.
func httpURL(raw string) bool {
	u, err := url.Parse(raw)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Fragment == ""
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
		Resource: g.Resource, ClientID: g.ClientID, Scope: t.Scope, Username: g.Username, Email: g.Email, // only a verified address
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
