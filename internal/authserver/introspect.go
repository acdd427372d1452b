package authserver

import (
	"net/http"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// Introspection is the RFC 7662 §2.2 answer, plus email: the address
// the provider verified, never the username.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	Email     string `json:"email,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Subject   string `json:"sub,omitempty"`
	Audience  string `json:"aud,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	// Cnf is the key a DPoP-bound token is bound to (RFC 9449 §6.2).
	Cnf *confirmation `json:"cnf,omitempty"`
}

// introspect answers resource servers (RFC 7662). The caller must
// authenticate (§2.1) and learns only about access tokens issued for its
// own resource: a token for another audience is inactive to it (§4).
func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	rs, value, ok := tokenRequest(s, w, r, s.authenticateResourceServer)
	if !ok {
		return
	}
	answer, err := s.inspect(r, rs, value)
	if err != nil {
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	s.log.DebugContext(r.Context(), "introspection", "caller", rs.ClientID, "active", answer.Active)
	oauth.WriteJSONBody(w, http.StatusOK, answer)
}

// tokenRequest reads an introspection or revocation request: the form,
// who is asking (authenticate), and the token it asks about. On false the
// error answer has been written.
func tokenRequest[C any](s *Server, w http.ResponseWriter, r *http.Request, authenticate func(*http.Request) (C, *oauth.Error)) (caller C, token string, ok bool) {
	oerr := parseForm(r)
	if oerr == nil {
		caller, oerr = authenticate(r)
	}
	if token = r.PostForm.Get("token"); oerr == nil && token == "" {
		oerr = oauth.InvalidRequest("token is missing")
	}
	if oerr != nil {
		s.writeError(w, r, oerr)
		return caller, "", false
	}
	return caller, token, true
}

func (s *Server) inspect(r *http.Request, rs *ResourceServer, value string) (Introspection, error) {
	inactive := Introspection{Active: false}
	t, g, ok, err := s.liveAccessToken(r, value)
	if err != nil || !ok {
		return inactive, err
	}
	if !oauth.SameResource(g.Resource, rs.Resource) {
		s.log.InfoContext(r.Context(), "introspection of a token for another resource", "caller", rs.ClientID)
		return inactive, nil
	}
	return Introspection{
		Active: true, Scope: t.Scope, ClientID: g.ClientID, Username: g.Username, Email: g.Email, TokenType: tokenType(t.JKT),
		Exp: t.ExpiresAt.Unix(), Iat: t.IssuedAt.Unix(), Subject: g.Subject, Audience: g.Resource, Issuer: s.cfg.Issuer, Cnf: cnf(t.JKT),
	}, nil
}

// authenticateResourceServer checks the caller's introspection credentials
// against the configured resource servers, in constant time.
//
// The right secret always passes: the failed-authentication lockout
// counts and refuses only failures, so nobody sending wrong secrets with a
// resource server's client id, from its address or behind the same proxy,
// can stop introspection for every user. Its secret is long (16
// characters at least, 44 random ones when generated), so the lockout
// slows no guessing worth fearing there; every wrong guess still counts
// against its address's request limit (Limits.PerIP).
func (s *Server) authenticateResourceServer(r *http.Request) (*ResourceServer, *oauth.Error) {
	creds, oerr := oauth.ReadClientCredentials(r)
	if oerr != nil {
		return nil, s.anonymousIntrospection(r, oauth.InvalidClient("introspection requires the resource server's credentials"))
	}
	for i := range s.cfg.Resources {
		rs := &s.cfg.Resources[i]
		idOK := secrets.Equal(rs.ClientID, creds.ID)
		secretOK := secrets.Equal(rs.ClientSecret, creds.Secret)
		if idOK && secretOK && creds.Secret != "" {
			return rs, nil
		}
	}
	s.log.InfoContext(r.Context(), "introspection with bad credentials", "client_id", creds.ID)
	oerr = s.refuseAfterFailures(r, creds.ID)
	if oerr == nil {
		s.limits.failedAuth.Allow(s.failureKey(r, creds.ID))
		oerr = oauth.InvalidClient("unknown resource server or wrong secret")
	}
	return nil, s.anonymousIntrospection(r, oerr)
}

// anonymousIntrospection counts a request that did not authenticate
// against its address's limit: an authenticated resource server is never
// limited by address (a busy MCP server checks many tokens), junk is.
func (s *Server) anonymousIntrospection(r *http.Request, e *oauth.Error) *oauth.Error {
	if ok, wait := s.limits.introspect.Allow(s.clientIP(r)); !ok {
		e = oauth.NewError(oauth.CodeTemporarilyUnavailable, "too many requests from this address; retry after "+httpx.RetryAfter(wait)+" s")
		e.Status, e.RetryAfter = http.StatusTooManyRequests, httpx.RetryAfter(wait)
	}
	return e
}
