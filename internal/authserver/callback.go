package authserver

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// callback receives TaskManager's authorization response, redeems its
// code, and answers the MCP client's original request with tmcp's own code.
func (s *Server) callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := q.Get("state")
	if state == "" {
		s.errorPage(w, http.StatusBadRequest, "Sign-in failed", "TaskManager's answer carries no state.",
			"Start the sign-in again from your MCP client.")
		return
	}
	// Login CSRF: the response must come back to the browser that began
	// it. Another browser neither completes the sign-in nor burns it.
	browser := ""
	if c, err := r.Cookie(s.cookieName(cookieBrowser)); err == nil {
		browser = c.Value
	}
	p, err := s.store.TakePending(r.Context(), secrets.Hash(state), secrets.Hash(browser))
	if errors.Is(err, store.ErrNotYours) {
		s.log.WarnContext(r.Context(), "callback from a browser that did not start the sign-in")
		s.errorPage(w, http.StatusForbidden, "Sign-in refused", "This sign-in was started in another browser.",
			"Start the sign-in again from your MCP client in this browser.")
		return
	} else if errors.Is(err, store.ErrNotFound) {
		s.errorPage(w, http.StatusBadRequest, "Sign-in failed", "This sign-in is unknown or was already completed.",
			"Each sign-in link works once. Start again from your MCP client.")
		return
	} else if err != nil {
		s.unavailablePage(w, r, "storage", err)
		return
	}
	if !s.now().Before(p.ExpiresAt) {
		s.errorPage(w, http.StatusBadRequest, "Sign-in expired", "This sign-in took longer than allowed.",
			"Start again from your MCP client.")
		return
	}
	fail := func(e *oauth.Error) {
		s.noteSignInFailure(p.ClientID, e.Code, e.Description)
		http.Redirect(w, r, e.RedirectURL(p.RedirectURI, p.ClientState, s.cfg.Issuer), http.StatusFound)
	}
	if upErr := q.Get("error"); upErr != "" {
		s.log.InfoContext(r.Context(), "TaskManager refused the authorization", "client_id", p.ClientID, "error", upErr)
		if upErr == oauth.CodeAccessDenied {
			fail(oauth.NewError(oauth.CodeAccessDenied, "the user denied access at TaskManager"))
		} else {
			fail(oauth.ServerError("TaskManager refused the sign-in: " + upErr))
		}
		return
	}
	code := q.Get("code")
	if code == "" {
		fail(oauth.ServerError("TaskManager's answer carries no code"))
		return
	}
	start := time.Now()
	sealed, err := base64.RawURLEncoding.DecodeString(p.UpstreamVerifier)
	var verifier []byte
	if err == nil {
		verifier, err = s.sealer.Open(sealed, []byte(p.StateHash))
	}
	if err != nil {
		fail(oauth.ServerError("the sign-in's PKCE verifier cannot be opened: was the encryption key changed?"))
		return
	}
	tok, err := s.upstream.Exchange(r.Context(), code, string(verifier))
	s.timeUpstream("exchange", start)
	if err != nil {
		s.log.WarnContext(r.Context(), "TaskManager code exchange failed", "client_id", p.ClientID, "err", err)
		fail(upstreamFailure(err))
		return
	}
	s.log.DebugContext(r.Context(), "TaskManager code exchanged", "client_id", p.ClientID, "upstream_scope", tok.Scope,
		"upstream_expires", tok.Expiry, "refresh_token", tok.RefreshToken != "")
	user, err := s.identify(r.Context(), tok, p.NonceHash)
	if errors.Is(err, upstream.ErrIDTokenRefused) {
		// Not a fault: the provider's answer is not this sign-in's
		// (another sign-in's code or ID token, or one for another party).
		s.noteSignInFailure(p.ClientID, oauth.CodeAccessDenied, err.Error())
		s.audit(r.Context(), "sign-in refused", "client_id", p.ClientID, "reason", err.Error())
		s.errorPage(w, http.StatusForbidden, "Sign-in refused", upperFirst(err.Error())+".",
			"Nothing was issued. Start the sign-in again from your MCP client.")
		return
	}
	if err != nil {
		s.log.WarnContext(r.Context(), "could not establish who signed in at TaskManager", "client_id", p.ClientID, "err", err)
		fail(upstreamFailure(err))
		return
	}
	if refusal := s.cfg.Admission.Admit(user); refusal != "" {
		// /status names no user: the audit log and the user's page do.
		s.noteSignInFailure(p.ClientID, oauth.CodeAccessDenied, "the account may not use this server: "+refusal)
		s.audit(r.Context(), "sign-in refused", "client_id", p.ClientID, "sub", user.Subject, "username", username(user), "reason", refusal)
		s.errorPage(w, http.StatusForbidden, "Sign-in refused", "The account "+username(user)+" may not use this server: "+refusal+".",
			"Sign in with another account, or ask the server's operator to allow this one.")
		return
	}
	// The provider may grant less than asked.
	scope := s.upstream.GrantedScopes(oauth.ParseScope(p.Scope), tok.Scope)
	if len(scope) == 0 {
		fail(oauth.NewError(oauth.CodeAccessDenied, "TaskManager granted none of the requested scopes"))
		return
	}
	codeValue, err := s.completeGrant(r, p, tok, user, scope)
	if err != nil {
		fail(s.unavailable(r.Context(), "storage", err))
		return
	}
	s.audit(r.Context(), "consent granted", "client_id", p.ClientID, "sub", user.Subject, "scope", oauth.JoinScope(scope), "resource", p.Resource)
	s.log.InfoContext(r.Context(), "authorization granted", "client_id", p.ClientID, "sub", user.Subject, "scope", oauth.JoinScope(scope))
	http.Redirect(w, r, oauth.AppendQuery(p.RedirectURI, url.Values{"code": {codeValue}}, p.ClientState, s.cfg.Issuer), http.StatusFound)
}

// completeGrant stores the grant with TaskManager's tokens sealed, records
// the user's consent and issues the MCP client's code.
func (s *Server) completeGrant(r *http.Request, p *store.Pending, tok *upstream.Token, user *upstream.User, scope []string) (string, error) {
	now := s.now()
	g := &store.Grant{
		ID: secrets.Random(16), ClientID: p.ClientID, Subject: user.Subject, Username: username(user), Email: user.Email,
		Scope: oauth.JoinScope(scope), Resource: p.Resource, RedirectURI: p.RedirectURI,
		UpstreamExpiresAt: tok.Expiry, CreatedAt: now,
	}
	sealed, err := s.sealUpstream(g.ID, tok)
	if err != nil {
		return "", err
	}
	g.Upstream = sealed
	if err := s.store.CreateGrant(r.Context(), g); err != nil {
		return "", err
	}
	code := secrets.NewToken(secrets.PrefixCode)
	err = s.store.SaveCode(r.Context(), &store.Code{Hash: secrets.Hash(code), GrantID: g.ID, ClientID: p.ClientID,
		RedirectURI: p.RedirectURI, CodeChallenge: p.CodeChallenge, ExpiresAt: now.Add(s.cfg.CodeTTL)})
	return code, err
}

func (s *Server) sealUpstream(grantID string, tok *upstream.Token) ([]byte, error) {
	raw, err := json.Marshal(tok)
	if err != nil {
		return nil, err
	}
	return s.sealer.Seal(raw, []byte(grantID)), nil
}

func (s *Server) openUpstream(g *store.Grant) (*upstream.Token, error) {
	raw, err := s.sealer.Open(g.Upstream, []byte(g.ID))
	if err != nil {
		return nil, err
	}
	var tok upstream.Token
	return &tok, json.Unmarshal(raw, &tok)
}

// identify establishes who signed in: from the verified claims of a JWT
// access token or ID token when TaskManager issues JWTs, else from its
// userinfo endpoint. An unverifiable JWT is never trusted, nor an ID
// token without the sign-in's nonce.
func (s *Server) identify(ctx context.Context, tok *upstream.Token, nonceHash string) (*upstream.User, error) {
	return s.upstream.Identify(ctx, tok, nonceHash, s.verifier.Verify)
}

// upperFirst capitalises an error message to open a sentence.
func upperFirst(s string) string {
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

// upstreamFailure is what the MCP client is told when TaskManager fails.
func username(u *upstream.User) string {
	for _, name := range []string{u.Username, u.Email, u.Name} {
		if name != "" {
			return name
		}
	}
	return u.Subject
}

// upstreamRefreshMargin refreshes TaskManager's token a little before it
// expires, so a token handed out is not stale on arrival.
const upstreamRefreshMargin = 30 * time.Second
