package sandbox

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// ClientInfo is a registered client as /api/oauth/clients shows it.
type ClientInfo struct {
	ClientID     string   `json:"client_id"`
	ClientSecret string   `json:"client_secret,omitempty"` // only in the registration response
	Name         string   `json:"client_name"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	// AuthMethod is "none" for a public client (no secret), else
	// client_secret_basic.
	AuthMethod string    `json:"token_endpoint_auth_method"`
	CreatedAt  time.Time `json:"created_at"`
}

// RegisterRequest is the body of POST /api/oauth/clients.
type RegisterRequest struct {
	Name         string   `json:"client_name"`
	RedirectURIs []string `json:"redirect_uris"`
	Scopes       []string `json:"scopes"`
	// AuthMethod "none" registers a public client (PKCE, no secret).
	AuthMethod string `json:"token_endpoint_auth_method"`
}

func info(c *client) ClientInfo {
	method := oauth.AuthMethodBasic
	if c.SecretHash == "" {
		method = oauth.AuthMethodNone
	}
	return ClientInfo{ClientID: c.ID, Name: c.Name, RedirectURIs: c.RedirectURIs, Scopes: c.Scopes, AuthMethod: method, CreatedAt: c.CreatedAt.UTC()}
}

func apiError(w http.ResponseWriter, status int, code, desc string) {
	oauth.WriteJSONBody(w, status, oauth.Error{Code: code, Description: desc})
}

func (s *Server) listClients(w http.ResponseWriter, r *http.Request) {
	u := s.currentUser(r)
	if u == nil {
		apiError(w, http.StatusUnauthorized, "unauthorized", "sign in first: the session cookie is missing or expired")
		return
	}
	cs, err := s.db.clientsOf(r.Context(), u.ID)
	if err != nil {
		apiError(w, http.StatusInternalServerError, oauth.CodeServerError, "could not list clients")
		return
	}
	out := []ClientInfo{}
	for _, c := range cs {
		out = append(out, info(c))
	}
	oauth.WriteJSONBody(w, http.StatusOK, out)
}

func (s *Server) registerClient(w http.ResponseWriter, r *http.Request) {
	u := s.currentUser(r)
	if u == nil {
		apiError(w, http.StatusUnauthorized, "unauthorized", "sign in first: the session cookie is missing or expired")
		return
	}
	// A JSON content type cannot be sent cross-site without a CORS
	// preflight, so a cookie-authenticated POST here cannot be forged.
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		apiError(w, http.StatusUnsupportedMediaType, oauth.CodeInvalidRequest, "send the registration as application/json")
		return
	}
	var req RegisterRequest
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			apiError(w, http.StatusRequestEntityTooLarge, oauth.CodeInvalidRequest, "the request body is too large")
			return
		}
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "the body is not valid JSON")
		return
	}
	req.Name = strings.TrimSpace(req.Name)
	if req.Name == "" {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidClientMetadata, "client_name is required")
		return
	}
	if len(req.RedirectURIs) == 0 {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidRedirectURI, "at least one redirect URI is required")
		return
	}
	for _, u := range req.RedirectURIs {
		if err := oauth.ValidateRedirectURI(u); err != nil {
			apiError(w, http.StatusBadRequest, oauth.CodeInvalidRedirectURI, "redirect URI "+u+" "+err.Error())
			return
		}
	}
	if len(req.Scopes) == 0 {
		req.Scopes = []string{"read", "write"}
	}
	if !oauth.ScopeSubset(req.Scopes, knownScopes) {
		apiError(w, http.StatusBadRequest, oauth.CodeInvalidClientMetadata, "scopes must be among read, write, admin")
		return
	}
	secret, secretHash := "", ""
	if req.AuthMethod != oauth.AuthMethodNone {
		secret = "tm_cs_" + secrets.Random(32)
		secretHash = hashSecret(secret)
	}
	c := client{ID: "tm_ci_" + secrets.Random(12), SecretHash: secretHash, Name: req.Name,
		RedirectURIs: req.RedirectURIs, Scopes: req.Scopes, OwnerID: u.ID, CreatedAt: s.now()}
	if err := s.db.upsertClient(r.Context(), c); err != nil {
		apiError(w, http.StatusInternalServerError, oauth.CodeServerError, "could not save the client")
		return
	}
	out := info(&c)
	out.ClientSecret = secret
	oauth.WriteJSONBody(w, http.StatusCreated, out)
}

// getClient shows one client to its owner (session cookie) or to a
// registered client authenticating with its own credentials, such as tmcp
// looking up an MCP client's redirect URIs.
func (s *Server) getClient(w http.ResponseWriter, r *http.Request) {
	if s.currentUser(r) == nil {
		if _, _, basic := r.BasicAuth(); !basic {
			apiError(w, http.StatusUnauthorized, "unauthorized", "sign in or authenticate as a client")
			return
		}
		if err := r.ParseForm(); err != nil {
			apiError(w, http.StatusBadRequest, oauth.CodeInvalidRequest, "bad request")
			return
		}
		if _, oerr := s.authenticateClient(r); oerr != nil {
			oauth.WriteJSON(w, r, oerr)
			return
		}
	}
	c, err := s.db.clientByID(r.Context(), r.PathValue("id"))
	if err != nil {
		apiError(w, http.StatusNotFound, "not_found", "no such client")
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, info(c))
}
