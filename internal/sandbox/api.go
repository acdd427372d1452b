package sandbox

import (
	"net/http"
	"strings"

	"github.com/go-jose/go-jose/v4"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{
		Key: &s.key.PublicKey, KeyID: s.kid, Algorithm: string(jose.ES256), Use: "sig",
	}}}
	w.Header().Set("Cache-Control", "public, max-age=300")
	oauth.WriteJSONBody(w, http.StatusOK, set)
}

// Introspection is the RFC 7662 answer.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Username  string `json:"username,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
}

func (s *Server) introspect(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauth.WriteJSON(w, r, oauth.FormError(err))
		return
	}
	if _, oerr := s.authenticateClient(r); oerr != nil {
		oauth.WriteJSON(w, r, oerr)
		return
	}
	value := r.PostForm.Get("token")
	if value == "" {
		oauth.WriteJSON(w, r, oauth.InvalidRequest("token is missing"))
		return
	}
	t, u := s.liveToken(r, value)
	if t == nil {
		oauth.WriteJSONBody(w, http.StatusOK, Introspection{Active: false})
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, Introspection{
		Active: true, Scope: t.Scope, ClientID: t.ClientID, Username: u.Email, Subject: u.ID,
		TokenType: "Bearer", Exp: t.ExpiresAt.Unix(), Iat: t.IssuedAt.Unix(), Issuer: s.cfg.PublicURL,
	})
}

// UserInfo is who an access token's user is (OpenID Connect Core §5.3.2
// shape); the demo user's address is the operator's, verified.
type UserInfo struct {
	Subject       string `json:"sub"`
	Email         string `json:"email"`
	EmailVerified bool   `json:"email_verified"`
	Name          string `json:"name"`
}

func (s *Server) userinfo(w http.ResponseWriter, r *http.Request) {
	t, u := s.bearer(w, r, "")
	if t == nil {
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, UserInfo{Subject: u.ID, Email: u.Email, EmailVerified: true, Name: u.Name})
}

// liveToken finds an unexpired, unrevoked access token and its user.
func (s *Server) liveToken(r *http.Request, value string) (*token, *user) {
	t, err := s.db.tokenByHash(r.Context(), secrets.Hash(value))
	if err != nil || t.Kind != "access" || t.Revoked || !s.now().Before(t.ExpiresAt) {
		return nil, nil
	}
	u, err := s.db.userByID(r.Context(), t.UserID)
	if err != nil {
		return nil, nil
	}
	return t, u
}

// bearer authenticates an API call (RFC 6750 §2.1) and checks scope,
// answering 401 or 403 with the RFC 6750 §3 challenge itself.
func (s *Server) bearer(w http.ResponseWriter, r *http.Request, scope string) (*token, *user) {
	h := r.Header.Get("Authorization")
	value, ok := strings.CutPrefix(h, "Bearer ")
	if !ok || value == "" {
		w.Header().Set("WWW-Authenticate", `Bearer realm="taskmanager"`)
		apiError(w, http.StatusUnauthorized, oauth.CodeInvalidToken, "a bearer token is required")
		return nil, nil
	}
	t, u := s.liveToken(r, value)
	if t == nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="taskmanager", error="invalid_token"`)
		apiError(w, http.StatusUnauthorized, oauth.CodeInvalidToken, "the access token is invalid, expired or revoked")
		return nil, nil
	}
	if scope != "" && !oauth.ScopeSubset([]string{scope}, oauth.ParseScope(t.Scope)) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="taskmanager", error="insufficient_scope", scope="`+scope+`"`)
		apiError(w, http.StatusForbidden, oauth.CodeInsufficientScope, "this call needs the "+scope+" scope")
		return nil, nil
	}
	return t, u
}

// discovery is the provider metadata a generic OpenID provider publishes
// (OpenID Connect Discovery 1.0, RFC 8414).
func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	u := s.cfg.PublicURL
	oauth.WriteJSONBody(w, http.StatusOK, oauth.ServerMetadata{
		Issuer: u, AuthorizationEndpoint: u + "/oidc/authorize", TokenEndpoint: u + "/oidc/token",
		UserinfoEndpoint: u + "/oidc/userinfo", JWKSURI: u + "/oidc/jwks", IntrospectionEndpoint: u + "/api/oauth/introspect",
		ScopesSupported: knownScopes, ResponseTypesSupported: []string{"code"},
		GrantTypesSupported:               s.grants.Types(),
		TokenEndpointAuthMethodsSupported: []string{oauth.AuthMethodBasic, oauth.AuthMethodPost},
		CodeChallengeMethodsSupported:     []string{oauth.MethodS256},
		SubjectTypesSupported:             []string{"public"}, IDTokenSigningAlgValuesSupported: []string{"ES256"},
	})
}
