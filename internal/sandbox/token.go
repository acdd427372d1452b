package sandbox

import (
	"net/http"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// authenticateClient checks client_secret_basic or client_secret_post.
// Every sandbox client is confidential.
func (s *Server) authenticateClient(r *http.Request) (*client, *oauth.Error) {
	creds, oerr := oauth.ReadClientCredentials(r)
	if oerr != nil {
		return nil, oerr
	}
	c, err := s.db.clientByID(r.Context(), creds.ID)
	if err != nil || creds.Secret == "" || !secrets.Equal(c.SecretHash, hashSecret(creds.Secret)) {
		return nil, oauth.InvalidClient("client authentication failed")
	}
	return c, nil
}

// tokenGrant answers a token request of one grant type from c.
type tokenGrant func(r *http.Request, c *client) (*tokenResponse, *oauth.Error)

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauth.WriteJSON(w, r, oauth.FormError(err))
		return
	}
	c, oerr := s.authenticateClient(r)
	if oerr != nil {
		oauth.WriteJSON(w, r, oerr)
		return
	}
	grant, oerr := s.grants.For(r)
	if oerr != nil {
		oauth.WriteJSON(w, r, oerr)
		return
	}
	resp, oerr := grant(r, c)
	if oerr != nil {
		oauth.WriteJSON(w, r, oerr)
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, resp)
}

func (s *Server) exchangeCode(r *http.Request, c *client) (*tokenResponse, *oauth.Error) {
	value := r.PostForm.Get("code")
	if value == "" {
		return nil, oauth.InvalidRequest("code is missing")
	}
	cd, err := s.db.consumeCode(r.Context(), secrets.Hash(value))
	if err != nil {
		return nil, oauth.InvalidGrant("the code is invalid, expired or already used")
	}
	switch {
	case cd.ClientID != c.ID:
		return nil, oauth.InvalidGrant("the code was issued to another client")
	case s.now().After(cd.ExpiresAt):
		return nil, oauth.InvalidGrant("the code has expired")
	case r.PostForm.Get("redirect_uri") != cd.RedirectURI:
		return nil, oauth.InvalidGrant("redirect_uri differs from the authorization request")
	case cd.Challenge != "" && !oauth.VerifyS256(r.PostForm.Get("code_verifier"), cd.Challenge):
		return nil, oauth.InvalidGrant("code_verifier does not match the code challenge")
	case cd.Challenge == "" && r.PostForm.Get("code_verifier") != "":
		return nil, oauth.InvalidGrant("code_verifier sent for a code issued without a challenge")
	}
	return s.issue(r, c.ID, cd.UserID, cd.Scope)
}

func (s *Server) refresh(r *http.Request, c *client) (*tokenResponse, *oauth.Error) {
	value := r.PostForm.Get("refresh_token")
	if value == "" {
		return nil, oauth.InvalidRequest("refresh_token is missing")
	}
	hash := secrets.Hash(value)
	t, err := s.db.tokenByHash(r.Context(), hash)
	if err != nil || t.Kind != "refresh" || t.Revoked || s.now().After(t.ExpiresAt) {
		return nil, oauth.InvalidGrant("the refresh token is invalid, expired or revoked")
	}
	if t.ClientID != c.ID {
		return nil, oauth.InvalidGrant("the refresh token was issued to another client")
	}
	scope := t.Scope
	if req := oauth.ParseScope(r.PostForm.Get("scope")); len(req) > 0 {
		if !oauth.ScopeSubset(req, oauth.ParseScope(t.Scope)) {
			return nil, oauth.InvalidScope("a refresh cannot widen the granted scope")
		}
		scope = oauth.JoinScope(req)
	}
	if ok, err := s.db.revokeToken(r.Context(), hash); err != nil || !ok {
		return nil, oauth.InvalidGrant("the refresh token was already used")
	}
	return s.issue(r, c.ID, t.UserID, scope)
}

func (s *Server) issue(r *http.Request, clientID, userID, scope string) (*tokenResponse, *oauth.Error) {
	now := s.now()
	access, refresh := "tm_at_"+secrets.Random(32), "tm_rt_"+secrets.Random(32)
	if s.cfg.JWTAccessTokens {
		var err error
		if access, err = s.signAccessToken(r, clientID, userID, scope, now); err != nil {
			return nil, oauth.ServerError("could not sign the token")
		}
	}
	for _, t := range []struct {
		value, kind string
		ttl         time.Duration
	}{{access, "access", s.cfg.AccessTTL}, {refresh, "refresh", s.cfg.RefreshTTL}} {
		if err := s.db.saveToken(r.Context(), secrets.Hash(t.value), token{
			Kind: t.kind, ClientID: clientID, UserID: userID, Scope: scope, IssuedAt: now, ExpiresAt: now.Add(t.ttl),
		}); err != nil {
			return nil, oauth.ServerError("could not save the token")
		}
	}
	return &tokenResponse{AccessToken: access, TokenType: "Bearer", ExpiresIn: int64(s.cfg.AccessTTL.Seconds()),
		RefreshToken: refresh, Scope: scope}, nil
}
