package authserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
)

// ClientMetadata is the RFC 7591 §2 client metadata tmcp understands.
// Unknown members are ignored (§2), not stored.
type ClientMetadata struct {
	RedirectURIs            []string `json:"redirect_uris"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method,omitempty"`
	GrantTypes              []string `json:"grant_types,omitempty"`
	ResponseTypes           []string `json:"response_types,omitempty"`
	ClientName              string   `json:"client_name,omitempty"`
	ClientURI               string   `json:"client_uri,omitempty"`
	LogoURI                 string   `json:"logo_uri,omitempty"`
	Scope                   string   `json:"scope,omitempty"`
	Contacts                []string `json:"contacts,omitempty"`
	TOSURI                  string   `json:"tos_uri,omitempty"`
	PolicyURI               string   `json:"policy_uri,omitempty"`
	SoftwareID              string   `json:"software_id,omitempty"`
	SoftwareVersion         string   `json:"software_version,omitempty"`
	ApplicationType         string   `json:"application_type,omitempty"`
}

// RegistrationResponse is RFC 7591 §3.2.1, with RFC 7592 §3's token and
// URI for managing the registration.
type RegistrationResponse struct {
	ClientID                string `json:"client_id"`
	ClientSecret            string `json:"client_secret,omitempty"`
	ClientIDIssuedAt        int64  `json:"client_id_issued_at"`
	ClientSecretExpiresAt   *int64 `json:"client_secret_expires_at,omitempty"`
	RegistrationAccessToken string `json:"registration_access_token,omitempty"`
	RegistrationClientURI   string `json:"registration_client_uri,omitempty"`
	ClientMetadata
}

// RegistrationPolicy restricts dynamic registration (RFC 7591).
type RegistrationPolicy struct {
	// RedirectSchemes adds redirect URI schemes clients may register to
	// https, loopback http and reverse-domain private-use schemes; "*"
	// allows every scheme the OAuth 2.1 rules allow.
	RedirectSchemes []string
	// InitialAccessToken, when set, must be presented as a bearer token
	// to register (RFC 7591 §3).
	InitialAccessToken string
}

// redirects is the redirect URI policy of DCR and of client metadata
// documents alike.
func (p RegistrationPolicy) redirects() oauth.RedirectPolicy {
	return oauth.RedirectPolicy{Extra: p.RedirectSchemes}
}

// redirectRefused says why redirect URI u is refused. A scheme the
// policy does not allow is named with the setting that allows it, for
// the operator who reads the client's error or the log: clients such as
// Cursor register a private-use scheme that is no reverse domain name
// (cursor://), which RFC 8252 §7.1 advises against but which is theirs.
func redirectRefused(u string, err error) error {
	if errors.Is(err, oauth.ErrRedirectPrivateUse) {
		if p, perr := url.Parse(u); perr == nil && p.Scheme != "" {
			scheme := strings.ToLower(p.Scheme)
			return &refusal{fmt.Sprintf("redirect URI %s uses the scheme %q, which this server does not allow; its operator can allow it with --registration-scheme %s (auth.registration_redirect_schemes)", u, scheme, scheme), err}
		}
	}
	return &refusal{"redirect URI " + u + " " + err.Error(), err}
}

// refusal is an error with its own message that still matches its cause.
type refusal struct {
	msg   string
	cause error
}

func (r *refusal) Error() string { return r.msg }
func (r *refusal) Unwrap() error { return r.cause }

// Limits on registration metadata, so one request cannot store much.
const (
	maxRedirectURIs = 10
	maxFieldLen     = 2000
)

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	if want := s.cfg.Registration.InitialAccessToken; want != "" {
		got, _ := bearerToken(r)
		if !secrets.Equal(got, want) {
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="registration needs the initial access token"`)
			s.writeError(w, r, oauth.NewError(oauth.CodeInvalidToken, "registration needs the initial access token"))
			return
		}
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" {
		s.writeError(w, r, oauth.InvalidRequest("send the client metadata as application/json (RFC 7591 §3.1)"))
		return
	}
	var md ClientMetadata
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(&md); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			e := oauth.NewError(oauth.CodeInvalidClientMetadata, "the metadata is too large")
			e.Status = http.StatusRequestEntityTooLarge
			s.writeError(w, r, e)
			return
		}
		s.writeError(w, r, oauth.NewError(oauth.CodeInvalidClientMetadata, "the body is not a JSON object of client metadata"))
		return
	}
	if oerr := s.validateMetadata(&md); oerr != nil {
		s.log.InfoContext(r.Context(), "client registration refused", "error", oerr.Code, "reason", oerr.Description)
		s.writeError(w, r, oerr)
		return
	}
	// Counted once the request is a registration that would be stored.
	if ok, wait := s.limits.allRegistrations.Allow(""); !ok {
		s.tooMany(w, r, wait, "too many client registrations on this server")
		return
	}
	now := s.now()
	resp := RegistrationResponse{ClientID: secrets.PrefixClientID + secrets.Random(16),
		ClientIDIssuedAt: now.Unix(), ClientMetadata: md}
	client := &store.Client{ID: resp.ClientID, Name: md.ClientName, RedirectURIs: md.RedirectURIs,
		GrantTypes: md.GrantTypes, ResponseTypes: md.ResponseTypes, TokenEndpointAuthMethod: md.TokenEndpointAuthMethod,
		Scope: md.Scope, CreatedAt: now}
	if md.TokenEndpointAuthMethod != oauth.AuthMethodNone {
		resp.ClientSecret = secrets.NewToken(secrets.PrefixClientSecret)
		client.SecretHash = secrets.Hash(resp.ClientSecret)
		never := int64(0)
		resp.ClientSecretExpiresAt = &never
	}
	client.Metadata, _ = json.Marshal(md)
	resp.RegistrationAccessToken = secrets.NewToken(secrets.PrefixRegistration)
	resp.RegistrationClientURI = s.endpoint(pathRegister + "/" + client.ID)
	client.RegistrationTokenHash = secrets.Hash(resp.RegistrationAccessToken)
	if err := s.store.CreateClient(r.Context(), client); err != nil {
		s.log.ErrorContext(r.Context(), "save client", "err", err)
		s.writeError(w, r, oauth.ServerError("could not save the client"))
		return
	}
	s.audit(r.Context(), "client registered", "client_id", client.ID, "client_name", client.Name, "auth_method", client.TokenEndpointAuthMethod)
	oauth.WriteJSONBody(w, http.StatusCreated, resp)
}

// validateMetadata applies RFC 7591 §2 defaults and tmcp's policy.
func (s *Server) validateMetadata(md *ClientMetadata) *oauth.Error {
	bad := func(msg string) *oauth.Error { return oauth.NewError(oauth.CodeInvalidClientMetadata, msg) }
	if len(md.RedirectURIs) == 0 {
		return oauth.NewError(oauth.CodeInvalidRedirectURI, "redirect_uris is required for the authorization code grant")
	}
	if len(md.RedirectURIs) > maxRedirectURIs {
		return oauth.NewError(oauth.CodeInvalidRedirectURI, "at most 10 redirect URIs may be registered")
	}
	for _, u := range md.RedirectURIs {
		if len(u) > maxFieldLen {
			return oauth.NewError(oauth.CodeInvalidRedirectURI, "a redirect URI is too long")
		}
		if err := s.cfg.Registration.redirects().Check(u); err != nil {
			return oauth.NewError(oauth.CodeInvalidRedirectURI, redirectRefused(u, err).Error())
		}
	}
	switch md.TokenEndpointAuthMethod {
	case "":
		md.TokenEndpointAuthMethod = oauth.AuthMethodBasic // RFC 7591 §2 default
	case oauth.AuthMethodBasic, oauth.AuthMethodPost, oauth.AuthMethodNone:
	default:
		return bad("token_endpoint_auth_method must be none, client_secret_basic or client_secret_post")
	}
	if len(md.GrantTypes) == 0 {
		md.GrantTypes = []string{"authorization_code"} // RFC 7591 §2 default
	}
	for _, g := range md.GrantTypes {
		if g != "authorization_code" && g != "refresh_token" {
			return bad("grant_types may only hold authorization_code and refresh_token")
		}
	}
	if len(md.ResponseTypes) == 0 {
		md.ResponseTypes = []string{"code"}
	}
	if len(md.ResponseTypes) != 1 || md.ResponseTypes[0] != "code" {
		return bad("response_types must be [\"code\"]")
	}
	if !slices.Contains(md.GrantTypes, "authorization_code") {
		return bad("response_type code needs the authorization_code grant (RFC 7591 §2.1)")
	}
	if md.Scope != "" {
		scopes := oauth.ParseScope(md.Scope)
		if !oauth.ScopeSubset(scopes, s.cfg.ScopesSupported) {
			return oauth.NewError(oauth.CodeInvalidClientMetadata, "scope may only hold: "+oauth.JoinScope(s.cfg.ScopesSupported))
		}
		md.Scope = oauth.JoinScope(scopes)
	}
	switch md.ApplicationType {
	case "", "web", "native":
	default:
		return bad("application_type must be web or native")
	}
	for _, f := range []string{md.ClientName, md.ClientURI, md.LogoURI, md.TOSURI, md.PolicyURI, md.SoftwareID, md.SoftwareVersion} {
		if len(f) > maxFieldLen {
			return bad("a metadata value is longer than 2000 characters")
		}
	}
	md.ClientName = strings.TrimSpace(md.ClientName)
	if len(md.Contacts) > 10 {
		return bad("at most 10 contacts")
	}
	for _, u := range []string{md.ClientURI, md.LogoURI, md.TOSURI, md.PolicyURI} {
		if u != "" && !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
			return bad("client_uri, logo_uri, tos_uri and policy_uri must be http(s) URLs")
		}
	}
	return nil
}
