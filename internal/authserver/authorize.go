package authserver

import (
	"encoding/base64"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/cimd"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/telemetry"
)

// authRequest is a validated authorization request (RFC 6749 §4.1.1,
// RFC 7636 §4.3, RFC 8707 §2).
type authRequest struct {
	Client      *store.Client
	RedirectURI string
	State       string
	Scope       []string
	Resource    string
	Challenge   string
}

// pageError is an authorization failure that must not be redirected:
// the client or its redirect URI could not be trusted (RFC 6749 §4.1.2.1).
type pageError struct {
	msg, detail string
	status      int // 400 when zero; 503 for a fault
}

// shortID shows an id from the request on a page: quoted, only characters
// ids are made of, and short, so a made-up client_id cannot write prose
// on tmcp's own origin.
func shortID(id string) string {
	var b strings.Builder
	for _, r := range id {
		if b.Len() >= 40 {
			b.WriteString("…")
			break
		}
		if r < 128 && (r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_.:/", r)) {
			b.WriteRune(r)
		} else {
			b.WriteRune('?')
		}
	}
	return strconv.Quote(b.String())
}

// authParams are the parameters an authorization request may carry once.
var authParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state",
	"code_challenge", "code_challenge_method", "resource"}

// parseAuthRequest validates q. A *pageError means the browser gets an
// error page; an *oauth.Error goes back to the (validated) redirect URI.
func (s *Server) parseAuthRequest(r *http.Request, q url.Values) (*authRequest, *pageError, *oauth.Error) {
	clientID := q.Get("client_id")
	if clientID == "" {
		return nil, &pageError{msg: "The request names no client (client_id is missing).", detail: ""}, nil
	}
	client, err := s.client(r.Context(), clientID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &pageError{msg: "The application's client id is not registered with this server.",
			detail: "Client id " + shortID(clientID) + ". If you use this application, register it again."}, nil
	} else if errors.Is(err, cimd.ErrInvalid) {
		s.log.InfoContext(r.Context(), "client metadata document refused", "err", err)
		detail := "Its publisher must serve a valid client metadata document over HTTPS."
		if errors.Is(err, oauth.ErrRedirectPrivateUse) {
			// The document is fine; this server's policy refuses its scheme.
			var r *refusal
			errors.As(err, &r)
			detail = "It asks to be sent back through a link scheme this server does not allow: " + r.Error() + "."
		}
		return nil, &pageError{msg: "The application's metadata document could not be used.", detail: detail}, nil
	} else if errors.Is(err, errClientLookup) {
		return nil, &pageError{msg: "TaskManager could not be asked about this client.", detail: "Nothing was approved. Try again when TaskManager is reachable.", status: http.StatusServiceUnavailable}, nil
	} else if err != nil {
		s.log.ErrorContext(r.Context(), "load client failed", "err", err)
		return nil, &pageError{msg: "The server cannot reach its storage right now.", detail: "Nothing was changed. Try again in a few seconds.",
			status: http.StatusServiceUnavailable}, nil
	}
	if len(q["redirect_uri"]) > 1 || len(q["client_id"]) > 1 {
		return nil, &pageError{msg: "The request repeats client_id or redirect_uri.", detail: ""}, nil
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(client.RedirectURIs) == 1 {
		redirect = client.RedirectURIs[0]
	}
	if redirect == "" || !oauth.MatchRedirectURI(client.RedirectURIs, redirect) {
		return nil, &pageError{msg: "The redirect URI does not match any URI registered for this client.", detail: "Nothing was sent to it. Check the redirect URIs the client registered."}, nil
	}
	req := &authRequest{Client: client, RedirectURI: redirect, State: q.Get("state")}
	for _, p := range authParams {
		if len(q[p]) > 1 && p != "resource" {
			return req, nil, oauth.InvalidRequest(p + " is repeated (RFC 6749 §3.1)")
		}
	}
	if q.Get("response_type") != "code" {
		return req, nil, oauth.NewError(oauth.CodeUnsupportedResponseType, "only response_type=code is supported")
	}
	if !slices.Contains(client.GrantTypes, "authorization_code") {
		return req, nil, oauth.NewError(oauth.CodeUnauthorizedClient, "the client did not register the authorization_code grant")
	}
	req.Challenge = q.Get("code_challenge")
	switch method := q.Get("code_challenge_method"); {
	case req.Challenge == "":
		return req, nil, oauth.InvalidRequest("code_challenge is required (PKCE, RFC 7636)")
	case method != oauth.MethodS256:
		return req, nil, oauth.InvalidRequest("code_challenge_method must be S256")
	case !oauth.ValidChallenge(req.Challenge):
		return req, nil, oauth.InvalidRequest("code_challenge is not a valid S256 challenge")
	}
	req.Scope = oauth.ParseScope(q.Get("scope"))
	if len(req.Scope) == 0 {
		req.Scope = s.cfg.DefaultScope
	}
	// A requested scope must be one this server supports; the user decides
	// on the consent page. The scope a client registered is what it
	// expects to use (RFC 7591 §2), not a ceiling: MCP clients register
	// the first challenge's scope and ask for more on a 403 (step-up).
	if !oauth.ScopeSubset(req.Scope, s.cfg.ScopesSupported) {
		return req, nil, oauth.InvalidScope("supported scopes: " + oauth.JoinScope(s.cfg.ScopesSupported))
	}
	resources := q["resource"]
	switch {
	case len(resources) > 1:
		return req, nil, oauth.NewError(oauth.CodeInvalidTarget, "a grant is bound to one resource; send one resource parameter")
	case len(resources) == 0 || resources[0] == "":
		req.Resource = s.cfg.DefaultResource
	case !oauth.ValidResourceIndicator(resources[0]):
		return req, nil, oauth.NewError(oauth.CodeInvalidTarget, "resource must be an absolute URI without fragment")
	default:
		rs := s.resourceServer(resources[0])
		if rs == nil {
			return req, nil, oauth.NewError(oauth.CodeInvalidTarget, "this server issues no tokens for that resource")
		}
		req.Resource = rs.Resource
	}
	return req, nil, nil
}

// authorize handles the MCP client's authorization request: validate, then
// show tmcp's own consent page unless this browser approved the same
// client, redirect URI and scopes before.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	req, perr, oerr := s.parseAuthRequest(r, r.URL.Query())
	if s.authFailed(w, r, req, perr, oerr) {
		return
	}
	browser := s.browserID(w, r)
	s.carryTrace(w, r)
	remembered := s.rememberedConsent(r, req)
	if r.URL.Query().Get("prompt") == "none" {
		// OpenID Connect §3.1.2.1: no page at all. tmcp has no session of
		// its own, so it cannot sign in silently even with consent.
		code, desc := "consent_required", "the user has not approved this application"
		if remembered {
			code, desc = "login_required", "signing in needs the user at TaskManager"
		}
		s.authFailed(w, r, req, nil, oauth.NewError(code, desc))
		return
	}
	s.log.DebugContext(r.Context(), "authorization request", "client_id", req.Client.ID, "redirect_uri", req.RedirectURI,
		"scope", oauth.JoinScope(req.Scope), "resource", req.Resource, "consent_remembered", remembered)
	if remembered {
		s.toUpstream(w, r, req, browser)
		return
	}
	s.showConsent(w, r, req, browser)
}

// authFailed renders perr as a page or redirects oerr to the client; it
// reports whether the request failed.
func (s *Server) authFailed(w http.ResponseWriter, r *http.Request, req *authRequest, perr *pageError, oerr *oauth.Error) bool {
	switch {
	case perr != nil && perr.status == http.StatusServiceUnavailable:
		w.Header().Set("Retry-After", retryAfter)
		s.errorPage(w, perr.status, "Try again in a moment", perr.msg, perr.detail)
	case perr != nil:
		s.errorPage(w, http.StatusBadRequest, "Authorization request refused", perr.msg, perr.detail)
	case oerr != nil && !s.clientApproved(r, req):
		// RFC 9700 §4.11.2: a redirect URI anyone could register (open
		// registration, a self-hosted metadata document) is no place to
		// send a browser without the user's say: until this browser's
		// user approved the client, errors stay on tmcp's page.
		s.log.InfoContext(r.Context(), "authorization request refused", "client_id", req.Client.ID, "error", oerr.Code)
		s.noteSignInFailure(req.Client.ID, oerr.Code, oerr.Description)
		s.errorPage(w, http.StatusBadRequest, "Authorization request refused", "The application's request was refused ("+oerr.Code+").",
			"Nothing was sent to the application. "+oerr.Description)
	case oerr != nil:
		s.log.InfoContext(r.Context(), "authorization request refused", "client_id", req.Client.ID, "error", oerr.Code)
		s.noteSignInFailure(req.Client.ID, oerr.Code, oerr.Description)
		http.Redirect(w, r, oerr.RedirectURL(req.RedirectURI, req.State, s.cfg.Issuer), http.StatusFound)
	default:
		return false
	}
	return true
}

// carryTrace keeps the sign-in's trace context in a cookie: the browser
// brings no traceparent to the consent form or back from TaskManager to
// the callback, and the cookie makes the whole sign-in one trace.
func (s *Server) carryTrace(w http.ResponseWriter, r *http.Request) {
	if tp := telemetry.Traceparent(r.Context()); tp != "" {
		http.SetCookie(w, &http.Cookie{Name: telemetry.SignInCookie, Value: tp, Path: s.prefix + "/oauth/", HttpOnly: true,
			Secure: s.secureCookies(), SameSite: http.SameSiteLaxMode, MaxAge: int(s.cfg.StateTTL.Seconds())})
	}
}

// toUpstream starts tmcp's own authorization request at TaskManager with
// its own PKCE pair and a random single-use state bound to this browser;
// an OpenID provider also gets a fresh nonce, kept (hashed) with the
// state, which its ID token must carry back (OpenID Connect Core
// §3.1.2.1, §3.1.3.7).
func (s *Server) toUpstream(w http.ResponseWriter, r *http.Request, req *authRequest, browser string) {
	state := secrets.Random(32)
	verifier := secrets.Random(48) // 64 characters, within RFC 7636's 43..128
	nonce := secrets.Random(32)
	// The verifier is sealed at rest like TaskManager's tokens, bound to
	// its state.
	sealed := base64.RawURLEncoding.EncodeToString(s.sealer.Seal([]byte(verifier), []byte(secrets.Hash(state))))
	err := s.store.SavePending(r.Context(), &store.Pending{
		StateHash: secrets.Hash(state), BrowserHash: secrets.Hash(browser),
		ClientID: req.Client.ID, RedirectURI: req.RedirectURI, Scope: oauth.JoinScope(req.Scope),
		Resource: req.Resource, CodeChallenge: req.Challenge, ClientState: req.State,
		UpstreamVerifier: sealed, ExpiresAt: s.now().Add(s.cfg.StateTTL), NonceHash: secrets.Hash(nonce),
	})
	if err != nil {
		http.Redirect(w, r, s.unavailable(r.Context(), "storage", err).RedirectURL(req.RedirectURI, req.State, s.cfg.Issuer), http.StatusFound)
		return
	}
	s.log.DebugContext(r.Context(), "sending browser to TaskManager", "client_id", req.Client.ID, "scope", oauth.JoinScope(req.Scope), "resource", req.Resource)
	http.Redirect(w, r, s.upstream.AuthorizeURL(state, verifier, nonce, oauth.JoinScope(req.Scope)), http.StatusFound)
}
