package authserver

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/web"
)

// tmcp shows its own consent page before anything goes to TaskManager:
// its client id at TaskManager is static, so TaskManager's consent cannot
// tell MCP clients apart (the confused-deputy problem of the MCP security
// best practices).

const (
	cookieBrowser  = "tmcp_browser"
	cookieConsent  = "tmcp_consent"
	consentTTL     = 30 * 24 * time.Hour
	maxRemembered  = 10
	browserIDBytes = 32
)

// approval is one remembered consent in the signed consent cookie: for
// one client, redirect URI and MCP server (resource), the scopes approved.
// Remembered consent is the browser's, not the store's: tmcp's consent
// page comes before the user signs in at TaskManager, so it cannot yet
// know who the user is.
type approval struct {
	ClientID    string `json:"c"`
	RedirectURI string `json:"r"`
	Resource    string `json:"u"`
	Scope       string `json:"s"`
	Expires     int64  `json:"e"`
}

func (a approval) sameTarget(req *authRequest) bool {
	return a.ClientID == req.Client.ID && a.RedirectURI == req.RedirectURI && a.Resource == req.Resource
}

func (s *Server) secureCookies() bool { return strings.HasPrefix(s.cfg.Issuer, "https://") }

// cookieName gives tmcp's cookies the __Host- prefix where the browser
// allows it (Secure, Path=/, no Domain): such a cookie cannot be planted by
// a sibling subdomain or over plain HTTP.
func (s *Server) cookieName(base string) string {
	if s.secureCookies() && s.cookiePath() == "/" {
		return "__Host-" + base
	}
	return base
}

func (s *Server) cookiePath() string {
	if s.prefix == "" {
		return "/"
	}
	return s.prefix + "/"
}

// browserID returns the id of this browser, setting the cookie on first
// sight. Pending logins and consent forms are bound to it.
func (s *Server) browserID(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(s.cookieName(cookieBrowser)); err == nil && len(c.Value) >= 43 {
		return c.Value
	}
	id := secrets.Random(browserIDBytes)
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(cookieBrowser), Value: id, Path: s.cookiePath(), HttpOnly: true,
		Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int((24 * time.Hour).Seconds())})
	// Make it visible to the rest of this request too.
	r.AddCookie(&http.Cookie{Name: s.cookieName(cookieBrowser), Value: id})
	return id
}

// csrfToken binds a consent form to the browser and to the exact request
// it shows, so a form cannot be submitted from elsewhere or altered.
func (s *Server) csrfToken(browser string, req *authRequest) string {
	return secrets.MAC(s.cookieKey, "consent", browser, req.Client.ID, req.RedirectURI,
		oauth.JoinScope(req.Scope), req.Resource, req.Challenge, req.State)
}

type consentData struct {
	ClientName     string
	ClientID       string
	ClientURI      string
	RedirectURI    string
	RedirectTarget string
	Scopes         []consentScope
	Resource       string
	Params         map[string]string
	// StepUp is set when the client asks again, for more than was approved.
	StepUp   bool
	CSRF     string
	Action   string
	Upstream string
}

// consentScope is one requested scope on the consent page; New marks a
// scope this browser has not approved for the client before (step-up).
type consentScope struct {
	Name string
	New  bool
}

// clientApproved reports whether this browser's user approved the client
// for this redirect URI before (any scope or MCP server).
func (s *Server) clientApproved(r *http.Request, req *authRequest) bool {
	for _, a := range s.readApprovals(r) {
		if a.ClientID == req.Client.ID && a.RedirectURI == req.RedirectURI {
			return true
		}
	}
	return false
}

// approvedBefore is the scope this browser approved for the same client,
// redirect URI and MCP server, if any.
func (s *Server) approvedBefore(r *http.Request, req *authRequest) []string {
	for _, a := range s.readApprovals(r) {
		if a.sameTarget(req) {
			return oauth.ParseScope(a.Scope)
		}
	}
	return nil
}

func (s *Server) showConsent(w http.ResponseWriter, r *http.Request, req *authRequest, browser string) {
	name := req.Client.Name
	if name == "" {
		name = "An unnamed application"
	}
	before := s.approvedBefore(r, req)
	scopes := make([]consentScope, 0, len(req.Scope))
	for _, sc := range req.Scope {
		scopes = append(scopes, consentScope{Name: sc, New: before != nil && !slices.Contains(before, sc)})
	}
	data := consentData{
		ClientName: name, ClientID: req.Client.ID, RedirectURI: req.RedirectURI, RedirectTarget: oauth.RedirectTarget(req.RedirectURI),
		Scopes: scopes, Resource: req.Resource, StepUp: before != nil, CSRF: s.csrfToken(browser, req),
		Action: s.prefix + pathConsent, Upstream: s.upstream.Endpoint("/"),
		Params: map[string]string{
			"response_type": "code", "client_id": req.Client.ID, "redirect_uri": req.RedirectURI,
			"scope": oauth.JoinScope(req.Scope), "state": req.State, "resource": req.Resource,
			"code_challenge": req.Challenge, "code_challenge_method": oauth.MethodS256,
		},
	}
	s.pages.Render(w, "consent", http.StatusOK, web.Page{Brand: "tmcp", Title: "Allow " + name + "?", AssetPrefix: s.prefix, Data: data})
}

// consent receives the consent form.
func (s *Server) consent(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Consent refused", "The consent form could not be read.", "")
		return
	}
	req, perr, oerr := s.parseAuthRequest(r, r.PostForm)
	if s.authFailed(w, r, req, perr, oerr) {
		return
	}
	c, err := r.Cookie(s.cookieName(cookieBrowser))
	if err != nil || !secrets.Equal(s.csrfToken(c.Value, req), r.PostForm.Get("csrf_token")) {
		s.log.WarnContext(r.Context(), "consent form refused: not from this browser's consent page", "client_id", req.Client.ID)
		s.errorPage(w, http.StatusForbidden, "Consent refused",
			"This consent form was not issued to this browser, or it was altered.",
			"Start the sign-in again from your MCP client.")
		return
	}
	if r.PostForm.Get("decision") != "approve" {
		s.log.InfoContext(r.Context(), "user denied consent", "client_id", req.Client.ID)
		deny := oauth.NewError(oauth.CodeAccessDenied, "the user denied the request")
		http.Redirect(w, r, deny.RedirectURL(req.RedirectURI, req.State, s.cfg.Issuer), http.StatusSeeOther)
		return
	}
	s.log.DebugContext(r.Context(), "consent approved", "client_id", req.Client.ID, "scope", oauth.JoinScope(req.Scope))
	s.rememberConsent(w, r, req)
	s.toUpstream(w, r, req, c.Value)
}

func (s *Server) readApprovals(r *http.Request) []approval {
	c, err := r.Cookie(s.cookieName(cookieConsent))
	if err != nil {
		return nil
	}
	payload, mac, ok := strings.Cut(c.Value, ".")
	if !ok || !secrets.Equal(secrets.MAC(s.cookieKey, "approvals", payload), mac) {
		return nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(payload)
	if err != nil {
		return nil
	}
	var list []approval
	if json.Unmarshal(raw, &list) != nil {
		return nil
	}
	now := s.now().Unix()
	live := list[:0]
	for _, a := range list {
		if a.Expires > now {
			live = append(live, a)
		}
	}
	return live
}

func (s *Server) rememberedConsent(r *http.Request, req *authRequest) bool {
	for _, a := range s.readApprovals(r) {
		if a.sameTarget(req) && oauth.ScopeSubset(req.Scope, oauth.ParseScope(a.Scope)) {
			return true
		}
	}
	return false
}

func (s *Server) rememberConsent(w http.ResponseWriter, r *http.Request, req *authRequest) {
	list := []approval{{ClientID: req.Client.ID, RedirectURI: req.RedirectURI, Resource: req.Resource,
		Scope: oauth.JoinScope(req.Scope), Expires: s.now().Add(consentTTL).Unix()}}
	for _, a := range s.readApprovals(r) {
		if len(list) == maxRemembered {
			break
		}
		if !a.sameTarget(req) {
			list = append(list, a)
		}
	}
	raw, _ := json.Marshal(list)
	payload := base64.RawURLEncoding.EncodeToString(raw)
	http.SetCookie(w, &http.Cookie{Name: s.cookieName(cookieConsent), Value: payload + "." + secrets.MAC(s.cookieKey, "approvals", payload),
		Path: s.cookiePath(), HttpOnly: true, Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode,
		MaxAge: int(consentTTL.Seconds())})
}
