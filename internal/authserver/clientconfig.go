package authserver

import (
	"encoding/json"
	"errors"
	"mime"
	"net/http"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// clientConfig is the client configuration endpoint of RFC 7592:
// GET reads, PUT replaces and DELETE removes the registration at
// registration_client_uri, with the registration access token the
// client got when it registered.
func (s *Server) clientConfig(w http.ResponseWriter, r *http.Request) {
	c, token, ok := s.registrationClient(w, r)
	if !ok {
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.writeClientInformation(w, c, token)
	case http.MethodPut:
		s.updateClient(w, r, c, token)
	case http.MethodDelete:
		if err := s.store.DeleteClient(r.Context(), c.ID, s.now()); err != nil && !errors.Is(err, store.ErrNotFound) {
			s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
			return
		}
		s.audit(r.Context(), "client deleted", "client_id", c.ID, "by", "the client (RFC 7592)")
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusNoContent)
	}
}

// registrationClient authenticates the request with the client's
// registration access token. A client that does not exist and a token that
// is not its own are answered alike (RFC 7592 §2.1): 401 invalid_token.
func (s *Server) registrationClient(w http.ResponseWriter, r *http.Request) (*store.Client, string, bool) {
	refuse := func(why string) (*store.Client, string, bool) {
		s.refuseRegistrationToken(w, r, why)
		return nil, "", false
	}
	token, ok := bearerToken(r)
	if !ok {
		return refuse("the registration access token is missing")
	}
	c, err := s.store.GetClient(r.Context(), r.PathValue("id"))
	switch {
	case errors.Is(err, store.ErrNotFound):
		return refuse("the registration access token is not valid for this client")
	case err != nil:
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return nil, "", false
	case c.RegistrationTokenHash == "" || !secrets.Equal(c.RegistrationTokenHash, secrets.Hash(token)):
		return refuse("the registration access token is not valid for this client")
	}
	return c, token, true
}

// bearerToken is the token of an "Authorization: Bearer …" header. RFC
// 7235 §2.1: the auth-scheme is case-insensitive and one or more spaces
// follow it.
func bearerToken(r *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

func (s *Server) refuseRegistrationToken(w http.ResponseWriter, r *http.Request, why string) {
	w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="`+why+`"`)
	s.writeError(w, r, oauth.NewError(oauth.CodeInvalidToken, why))
}

// updateClient replaces the client's metadata (RFC 7592 §2.2): the
// request holds all of it, with the client's own client_id.
func (s *Server) updateClient(w http.ResponseWriter, r *http.Request, c *store.Client, token string) {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.writeError(w, r, oauth.InvalidRequest("send the client metadata as application/json (RFC 7592 §2.2)"))
		return
	}
	var req struct {
		ClientMetadata
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		s.writeError(w, r, oauth.NewError(oauth.CodeInvalidClientMetadata, "the body is not a JSON object of client metadata"))
		return
	}
	md := req.ClientMetadata
	switch {
	case req.ClientID != c.ID:
		s.writeError(w, r, oauth.InvalidRequest("client_id must be this client's own ("+c.ID+")"))
		return
	case req.ClientSecret != "" && !secrets.Equal(c.SecretHash, secrets.Hash(req.ClientSecret)):
		s.writeError(w, r, oauth.InvalidRequest("client_secret is not this client's secret"))
		return
	}
	if oerr := s.validateMetadata(&md); oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	if md.TokenEndpointAuthMethod != c.TokenEndpointAuthMethod {
		s.writeError(w, r, oauth.NewError(oauth.CodeInvalidClientMetadata,
			"token_endpoint_auth_method cannot change from "+c.TokenEndpointAuthMethod+"; register a new client"))
		return
	}
	c.Name, c.RedirectURIs, c.GrantTypes, c.ResponseTypes, c.Scope = md.ClientName, md.RedirectURIs, md.GrantTypes, md.ResponseTypes, md.Scope
	c.Metadata, _ = json.Marshal(md)
	err := s.store.UpdateClient(r.Context(), c)
	switch {
	case errors.Is(err, store.ErrNotFound): // deleted meanwhile
		s.refuseRegistrationToken(w, r, "the registration access token is not valid for this client")
		return
	case err != nil:
		s.writeError(w, r, s.unavailable(r.Context(), "storage", err))
		return
	}
	s.audit(r.Context(), "client updated", "client_id", c.ID, "client_name", c.Name)
	s.writeClientInformation(w, c, token)
}

// writeClientInformation is RFC 7592 §3: the registration as it stands,
// with the same registration access token; the client secret is not kept
// in the clear, so it is not repeated.
func (s *Server) writeClientInformation(w http.ResponseWriter, c *store.Client, token string) {
	var md ClientMetadata
	_ = json.Unmarshal(c.Metadata, &md)
	resp := RegistrationResponse{ClientID: c.ID, ClientIDIssuedAt: c.CreatedAt.Unix(), ClientMetadata: md,
		RegistrationAccessToken: token, RegistrationClientURI: s.endpoint(pathRegister + "/" + c.ID)}
	if c.SecretHash != "" {
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	oauth.WriteJSONBody(w, http.StatusOK, resp)
}
