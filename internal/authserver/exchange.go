package authserver

import (
	"errors"
	"net/http"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// ExchangeResponse is the RFC 8693 §2.2.1 answer.
type ExchangeResponse struct {
	AccessToken     string `json:"access_token"`
	IssuedTokenType string `json:"issued_token_type"`
	TokenType       string `json:"token_type"`
	ExpiresIn       int64  `json:"expires_in,omitempty"`
	Scope           string `json:"scope,omitempty"`
}

// exchange is the resource servers' back channel (RFC 8693): a resource
// server presents a user's MCP access token issued for it and receives that
// user's TaskManager access token, refreshed if needed, so it can call
// TaskManager as the user. MCP clients cannot use it: only resource-server
// credentials are accepted, and only for tokens bound to that resource.
// The MCP token itself never travels to TaskManager.
func (s *Server) exchange(w http.ResponseWriter, r *http.Request) {
	rs, oerr := s.authenticateResourceServer(r)
	if oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	f := r.PostForm
	assertion := f.Get("requested_token_type") == oauth.TokenTypeJWT
	switch {
	case f.Get("subject_token") == "":
		oerr = oauth.InvalidRequest("subject_token is missing")
	case f.Get("subject_token_type") != oauth.TokenTypeAccessToken:
		oerr = oauth.InvalidRequest("subject_token_type must be " + oauth.TokenTypeAccessToken)
	case assertion:
		oerr = checkAssertionAudience(rs, f.Get("audience"))
	case f.Has("requested_token_type") && f.Get("requested_token_type") != oauth.TokenTypeAccessToken:
		oerr = oauth.InvalidRequest("only access tokens can be requested")
	case f.Has("audience") && f.Get("audience") != s.upstream.Endpoint("/") && f.Get("audience") != s.cfg.Upstream.BaseURL:
		oerr = oauth.NewError(oauth.CodeInvalidTarget, "tokens can only be exchanged for TaskManager")
	}
	if oerr != nil {
		s.writeError(w, r, oerr)
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
	if assertion {
		s.identityAssertion(w, r, t, g)
		return
	}
	// The lookup left the sealed TaskManager token out: the whole grant.
	g, err = s.store.GetGrant(r.Context(), g.ID)
	switch {
	case errors.Is(err, store.ErrNotFound) || err == nil && !g.RevokedAt.IsZero(): // revoked meanwhile
		s.writeError(w, r, oauth.InvalidGrant("the subject token is not an active token for this resource"))
		return
	case err != nil:
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	if oerr := s.freshUpstream(r.Context(), g); oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	up, err := s.openUpstream(g)
	if err != nil {
		s.log.ErrorContext(r.Context(), "open upstream token", "err", err)
		s.writeError(w, r, oauth.ServerError("could not read TaskManager's token"))
		return
	}
	// The answer never outlives the MCP token it was exchanged for.
	exp := t.ExpiresAt
	if !up.Expiry.IsZero() && up.Expiry.Before(exp) {
		exp = up.Expiry
	}
	s.log.DebugContext(r.Context(), "token exchanged for TaskManager", "caller", rs.ClientID, "sub", g.Subject)
	oauth.WriteJSONBody(w, http.StatusOK, ExchangeResponse{
		AccessToken: up.AccessToken, IssuedTokenType: oauth.TokenTypeAccessToken, TokenType: "Bearer",
		ExpiresIn: int64(exp.Sub(s.now()) / time.Second), Scope: t.Scope,
	})
}

// liveAccessToken finds an unexpired, unrevoked access token and its
// grant. A storage fault is returned as such, never as "not live".
func (s *Server) liveAccessToken(r *http.Request, value string) (*store.Token, *store.Grant, bool, error) {
	t, g, err := s.store.GetTokenGrant(r.Context(), secrets.Hash(value))
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil, false, nil
	}
	if err != nil {
		return nil, nil, false, err
	}
	if t.Kind != store.KindAccess || !t.RevokedAt.IsZero() || !s.now().Before(t.ExpiresAt) || !g.RevokedAt.IsZero() {
		return nil, nil, false, nil
	}
	return t, g, true, nil
}
