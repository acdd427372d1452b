package sandbox

import (
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

const codeTTL = time.Minute

// authzRequest is a validated authorization request (RFC 6749 §4.1.1).
type authzRequest struct {
	client      *client
	redirectURI string
	scope       []string
	state       string
	challenge   string
}

// params are the request's parameters as the consent form carries them.
func (a *authzRequest) params() map[string]string {
	return map[string]string{
		"response_type": "code", "client_id": a.client.ID, "redirect_uri": a.redirectURI,
		"scope": oauth.JoinScope(a.scope), "state": a.state,
		"code_challenge": a.challenge, "code_challenge_method": oauth.MethodS256,
	}
}

// parseAuthz validates q. Errors before the redirect URI is trusted come
// back as a page error (pageErr); later ones as an OAuth error to send to
// the redirect URI (RFC 6749 §4.1.2.1).
func (s *Server) parseAuthz(r *http.Request, q url.Values) (req *authzRequest, pageErr string, oerr *oauth.Error) {
	c, err := s.db.clientByID(r.Context(), q.Get("client_id"))
	if err != nil {
		return nil, "Unknown client: this application is not registered with TaskManager.", nil
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(c.RedirectURIs) == 1 {
		redirect = c.RedirectURIs[0]
	}
	if !slices.Contains(c.RedirectURIs, redirect) {
		return nil, "The redirect URI does not match any URI registered for this client.", nil
	}
	req = &authzRequest{client: c, redirectURI: redirect, state: q.Get("state"), challenge: q.Get("code_challenge")}
	if rt := q.Get("response_type"); rt != "code" {
		return req, "", oauth.NewError(oauth.CodeUnsupportedResponseType, "only response_type=code is supported")
	}
	if q.Get("code_challenge") != "" || q.Get("code_challenge_method") != "" {
		if q.Get("code_challenge_method") != oauth.MethodS256 {
			return req, "", oauth.InvalidRequest("code_challenge_method must be S256")
		}
		if !oauth.ValidChallenge(req.challenge) {
			return req, "", oauth.InvalidRequest("code_challenge is not a valid S256 challenge")
		}
	}
	req.scope = oauth.ParseScope(q.Get("scope"))
	if len(req.scope) == 0 {
		req.scope = []string{"read"}
	}
	if !oauth.ScopeSubset(req.scope, c.Scopes) {
		return req, "", oauth.InvalidScope("the client may not request one of these scopes")
	}
	return req, "", nil
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	req, pageErr, oerr := s.parseAuthz(r, r.URL.Query())
	if pageErr != "" {
		s.errorPage(w, http.StatusBadRequest, "Authorization failed", pageErr)
		return
	}
	if oerr != nil {
		http.Redirect(w, r, oerr.RedirectURL(req.redirectURI, req.state, ""), http.StatusFound)
		return
	}
	u := s.currentUser(r)
	if u == nil {
		http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	s.page(w, "consent", http.StatusOK, "Authorize "+req.client.Name, map[string]any{
		"ClientName": req.client.Name, "Email": u.Email, "Scopes": req.scope,
		"RedirectURI": req.redirectURI, "Params": req.params(), "CSRF": s.csrfToken(r),
	})
}

func (s *Server) authorizeDecision(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.errorPage(w, http.StatusBadRequest, "Authorization failed", "The consent form could not be read.")
		return
	}
	req, pageErr, oerr := s.parseAuthz(r, r.PostForm)
	if pageErr != "" {
		s.errorPage(w, http.StatusBadRequest, "Authorization failed", pageErr)
		return
	}
	u := s.currentUser(r)
	if u == nil || !s.checkCSRF(r) {
		s.errorPage(w, http.StatusForbidden, "Authorization refused", "The consent form was not sent from your signed-in session.")
		return
	}
	if oerr == nil && r.PostForm.Get("decision") != "approve" {
		oerr = oauth.NewError(oauth.CodeAccessDenied, "the user denied the request")
	}
	if oerr != nil {
		http.Redirect(w, r, oerr.RedirectURL(req.redirectURI, req.state, ""), http.StatusSeeOther)
		return
	}
	codeValue := "tm_ac_" + secrets.Random(32)
	if err := s.db.saveCode(r.Context(), secrets.Hash(codeValue), code{
		ClientID: req.client.ID, UserID: u.ID, RedirectURI: req.redirectURI,
		Scope: oauth.JoinScope(req.scope), Challenge: req.challenge, ExpiresAt: s.now().Add(codeTTL),
	}); err != nil {
		http.Redirect(w, r, oauth.ServerError("could not save the code").RedirectURL(req.redirectURI, req.state, ""), http.StatusSeeOther)
		return
	}
	http.Redirect(w, r, oauth.AppendQuery(req.redirectURI, url.Values{"code": {codeValue}}, req.state, ""), http.StatusSeeOther)
}
