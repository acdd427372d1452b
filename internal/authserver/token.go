package authserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// TokenResponse is the RFC 6749 §5.1 answer.
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
}

// tokenEndpoint limits MCP clients' token requests by address. The
// resource servers' token exchange is not: it authenticates with their
// credentials, and a busy MCP server exchanges many users' tokens from
// one address; a request that fails to authenticate is limited by
// address there.
func (s *Server) tokenEndpoint() http.HandlerFunc {
	limited := s.limited(s.limits.token, s.token)
	return func(w http.ResponseWriter, r *http.Request) {
		if oerr := parseForm(r); oerr != nil {
			s.writeError(w, r, oerr)
			return
		}
		grant := r.PostForm.Get("grant_type")
		switch grant {
		case oauth.GrantAuthorizationCode, oauth.GrantRefreshToken, oauth.GrantTokenExchange:
			// Sign-in, refresh and token exchange tell apart in a trace.
			trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("oauth.grant_type", grant))
		}
		if grant == oauth.GrantTokenExchange {
			s.exchange(w, r)
			return
		}
		limited(w, r)
	}
}

// tokenGrant answers a token request of one grant type from client.
type tokenGrant func(r *http.Request, client *store.Client) (*TokenResponse, *oauth.Error)

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	client, oerr := s.authenticateClient(r)
	if oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	grant, oerr := s.grants.For(r)
	if oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	proof, oerr := s.tokenProof(w, r)
	if oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	r = r.WithContext(withProof(r.Context(), proof))
	resp, oerr := grant(r, client)
	if oerr != nil {
		s.writeError(w, r, oerr)
		return
	}
	oauth.WriteJSONBody(w, http.StatusOK, resp)
}

// redeemCode is RFC 6749 §4.1.3 with RFC 7636 §4.6. A code is consumed on
// first presentation, valid or not; a replay revokes everything issued
// from it (RFC 6749 §4.1.2, OAuth 2.1 §4.1.3).
func (s *Server) redeemCode(r *http.Request, client *store.Client) (*TokenResponse, *oauth.Error) {
	value, verifier := r.PostForm.Get("code"), r.PostForm.Get("code_verifier")
	if value == "" {
		return nil, oauth.InvalidRequest("code is missing")
	}
	if verifier == "" {
		return nil, oauth.InvalidRequest("code_verifier is missing (PKCE is required)")
	}
	now := s.now()
	code, err := s.store.ConsumeCode(r.Context(), secrets.Hash(value), now)
	switch {
	case errors.Is(err, store.ErrAlreadyUsed):
		if rerr := s.store.RevokeGrant(r.Context(), code.GrantID, now); rerr != nil && !errors.Is(rerr, store.ErrNotFound) {
			s.log.ErrorContext(r.Context(), "revoke grant after code replay", "err", rerr)
		}
		s.metrics.revocations.WithLabelValues("code_replay").Inc()
		s.audit(r.Context(), "token family revoked", "reason", "authorization code replayed", "client_id", client.ID)
		return nil, oauth.InvalidGrant("the code was already used; tokens issued from it are revoked")
	case errors.Is(err, store.ErrNotFound):
		return nil, oauth.InvalidGrant("the code is unknown or expired")
	case err != nil:
		return nil, s.unavailable(r.Context(), "storage", err)
	}
	switch {
	case code.ClientID != client.ID:
		return nil, oauth.InvalidGrant("the code was issued to another client")
	case !now.Before(code.ExpiresAt):
		return nil, oauth.InvalidGrant("the code has expired")
	case r.PostForm.Has("redirect_uri") && r.PostForm.Get("redirect_uri") != code.RedirectURI:
		return nil, oauth.InvalidGrant("redirect_uri differs from the authorization request")
	case !oauth.VerifyS256(verifier, code.CodeChallenge):
		return nil, oauth.InvalidGrant("code_verifier does not match the code_challenge")
	}
	if oerr := s.provedPublic(client); oerr != nil {
		return nil, oerr
	}
	g, err := s.store.GetGrant(r.Context(), code.GrantID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, oauth.InvalidGrant("the grant behind this code is gone")
	} else if err != nil {
		return nil, s.unavailable(r.Context(), "storage", err)
	}
	if !g.RevokedAt.IsZero() {
		return nil, oauth.InvalidGrant("the grant behind this code was revoked")
	}
	if oerr := checkResourceParam(r, g); oerr != nil {
		return nil, oerr
	}
	return s.issue(r.Context(), client, g, oauth.ParseScope(g.Scope), nil)
}

// refresh is RFC 6749 §6 with rotation (OAuth 2.1 §4.3.1): every refresh
// token is single use, with the one retry that rotation allows.
func (s *Server) refresh(r *http.Request, client *store.Client) (*TokenResponse, *oauth.Error) {
	if !slices.Contains(client.GrantTypes, "refresh_token") {
		return nil, oauth.NewError(oauth.CodeUnauthorizedClient, "the client did not register the refresh_token grant")
	}
	value := r.PostForm.Get("refresh_token")
	if value == "" {
		return nil, oauth.InvalidRequest("refresh_token is missing")
	}
	hash := secrets.Hash(value)
	now := s.now()
	old, err := s.store.GetToken(r.Context(), hash)
	var g *store.Grant
	if err == nil {
		g, err = s.store.GetGrant(r.Context(), old.GrantID)
	}
	switch {
	case errors.Is(err, store.ErrNotFound) && old == nil:
		return nil, s.replayedRefresh(r.Context(), client, value)
	case errors.Is(err, store.ErrNotFound):
		return nil, oauth.InvalidGrant("the refresh token is unknown")
	case err != nil:
		return nil, s.unavailable(r.Context(), "storage", err)
	case old.Kind != store.KindRefresh:
		return nil, oauth.InvalidGrant("the refresh token is unknown")
	}
	switch {
	case g.ClientID != client.ID:
		return nil, oauth.InvalidGrant("the refresh token was issued to another client")
	case !g.RevokedAt.IsZero() || !old.RevokedAt.IsZero():
		return nil, oauth.InvalidGrant("the refresh token was revoked")
	case !now.Before(old.ExpiresAt):
		return nil, oauth.InvalidGrant("the refresh token has expired")
	}
	if oerr := s.provedPublic(client); oerr != nil {
		return nil, oerr
	}
	if oerr := checkRefreshBinding(r, old); oerr != nil {
		return nil, oerr
	}
	scope := oauth.ParseScope(g.Scope)
	if asked := oauth.ParseScope(r.PostForm.Get("scope")); len(asked) > 0 {
		if !oauth.ScopeSubset(asked, scope) {
			return nil, oauth.InvalidScope("a refresh cannot add scopes the user did not grant")
		}
		scope = asked
	}
	if oerr := checkResourceParam(r, g); oerr != nil {
		return nil, oerr
	}
	if oerr := s.freshUpstream(r.Context(), g); oerr != nil {
		return nil, oerr
	}
	return s.issue(r.Context(), client, g, scope, old)
}

// checkResourceParam enforces RFC 8707 §2.2: a token request may name the
// resource, which must be the one the grant is bound to.
func checkResourceParam(r *http.Request, g *store.Grant) *oauth.Error {
	for _, res := range r.PostForm["resource"] {
		if !oauth.SameResource(res, g.Resource) {
			return oauth.NewError(oauth.CodeInvalidTarget, "this grant is bound to another resource")
		}
	}
	return nil
}

// freshUpstream refreshes TaskManager's token when it has expired, so MCP
// tokens never outlive the user's authorization at TaskManager: if
// TaskManager refuses the refresh (invalid_grant), the whole grant is
// revoked; any other failure keeps the grant for the next try.
func (s *Server) freshUpstream(ctx context.Context, g *store.Grant) *oauth.Error {
	if g.UpstreamExpiresAt.IsZero() || s.now().Add(upstreamRefreshMargin).Before(g.UpstreamExpiresAt) {
		return nil
	}
	_, err := s.refreshUpstream(ctx, g)
	var ue *upstream.Error
	switch {
	case err == nil:
		return nil
	case upstreamRefusesGrant(err):
		if rerr := s.store.RevokeGrant(ctx, g.ID, s.now()); rerr != nil {
			s.log.ErrorContext(ctx, "revoke grant", "err", rerr)
		}
		s.metrics.revocations.WithLabelValues("upstream_refused").Inc()
		s.audit(ctx, "token family revoked", "reason", "TaskManager refused to refresh", "client_id", g.ClientID, "sub", g.Subject, "error", oauth.CodeInvalidGrant)
		return oauth.InvalidGrant("TaskManager no longer authorizes this grant; sign in again")
	case errors.As(err, &ue) && ue.Code == oauth.CodeInvalidClient:
		// A refusal of tmcp itself, not of the user's grant: the grant
		// stays, and the answer names TaskManager's refusal, so nobody
		// looks for a network fault.
		s.log.ErrorContext(ctx, "TaskManager refused tmcp's own client credentials while refreshing; fix TASKMANAGER_CLIENT_ID/SECRET", "client_id", g.ClientID)
		e := oauth.NewError(oauth.CodeTemporarilyUnavailable, s.upstreamName()+" refused the authorization server's own client (invalid_client) "+
			"while renewing the user's "+s.upstreamName()+" token; the operator must fix tmcp's client id and secret there")
		e.RetryAfter = retryAfter
		return e
	default:
		return s.unavailable(ctx, "TaskManager", err)
	}
}

// refreshUpstream refreshes and stores TaskManager's token set for g.
func (s *Server) refreshUpstream(ctx context.Context, g *store.Grant) (*upstream.Token, error) {
	cur, err := s.openUpstream(g)
	if err != nil {
		return nil, err
	}
	if cur.RefreshToken == "" {
		return nil, &upstream.Error{Code: oauth.CodeInvalidGrant, Description: "TaskManager issued no refresh token"}
	}
	start := time.Now()
	next, err := s.upstream.Refresh(ctx, cur.RefreshToken)
	s.timeUpstream("refresh", start)
	if err != nil {
		return nil, err
	}
	sealed, err := s.sealUpstream(g.ID, next)
	if err != nil {
		return nil, err
	}
	if err := s.store.UpdateUpstream(ctx, g.ID, sealed, next.Expiry); err != nil {
		return nil, err
	}
	g.Upstream, g.UpstreamExpiresAt = sealed, next.Expiry
	return next, nil
}

// rotation is the refresh rotation rule (OAuth 2.1 §4.3.1, RFC 9700
// §4.14.2): a refresh token is used once. A retry within the grace of
// that use, before its successor was used, gets the first answer again,
// which the client most likely lost: the same tokens, never a new family.
// Any other reuse means the token leaked, and the whole family is revoked.
func rotation(old *store.Token, now time.Time) store.Rotation {
	switch {
	case old.UsedAt.IsZero():
		return store.RotateFirst
	case len(old.Answer.Sealed) > 0 && now.Before(old.Answer.Until):
		return store.RotateRetry
	}
	return store.RevokeFamily
}

// keptAnswer is what a rotation keeps sealed for a retry.
type keptAnswer struct {
	Response TokenResponse `json:"response"`
	IssuedAt time.Time     `json:"issued_at"`
}

// sealAnswer seals resp for retries of the refresh token oldHash until
// the grace ends; no grace, nothing kept.
func (s *Server) sealAnswer(oldHash string, resp *TokenResponse, now time.Time) (store.Answer, error) {
	if s.cfg.RefreshGrace <= 0 {
		return store.Answer{}, nil
	}
	raw, err := json.Marshal(keptAnswer{Response: *resp, IssuedAt: now})
	if err != nil {
		return store.Answer{}, err
	}
	return store.Answer{Sealed: s.sealer.Seal(raw, []byte(oldHash)), Until: now.Add(s.cfg.RefreshGrace)}, nil
}

// openAnswer is the answer old's rotation gave, its expires_in counted
// down to now.
func (s *Server) openAnswer(old *store.Token, now time.Time) (*TokenResponse, error) {
	raw, err := s.sealer.Open(old.Answer.Sealed, []byte(old.Hash))
	if err != nil {
		return nil, err
	}
	var kept keptAnswer
	if err := json.Unmarshal(raw, &kept); err != nil {
		return nil, err
	}
	resp := kept.Response
	resp.ExpiresIn = max(0, resp.ExpiresIn-int64(now.Sub(kept.IssuedAt)/time.Second))
	return &resp, nil
}

// issue mints an access token (and a refresh token when the client uses
// the refresh grant). With old set, the refresh token old is rotated.
// A request with a DPoP proof gets an access token bound to its key, and
// a public client a refresh token bound to it too; a confidential
// client's refresh token is bound to its credentials already (RFC 9449
// §5).
func (s *Server) issue(ctx context.Context, client *store.Client, g *store.Grant, scope []string, old *store.Token) (*TokenResponse, *oauth.Error) {
	now := s.now()
	issuance := secrets.Random(12)
	jkt := proofJKT(ctx)
	access := secrets.NewToken(secrets.PrefixAccessToken)
	if s.cfg.TokenFormat == FormatJWT {
		var err error
		if access, err = s.mintJWT(ctx, g, oauth.JoinScope(scope), jkt, now, now.Add(s.cfg.AccessTTL)); err != nil {
			s.log.ErrorContext(ctx, "sign access token", "err", err)
			return nil, oauth.ServerError("could not sign the access token")
		}
	}
	tokens := []*store.Token{{Hash: secrets.Hash(access), Kind: store.KindAccess, GrantID: g.ID, Issuance: issuance,
		Scope: oauth.JoinScope(scope), IssuedAt: now, ExpiresAt: now.Add(s.cfg.AccessTTL), JKT: jkt}}
	resp := &TokenResponse{AccessToken: access, TokenType: tokenType(jkt), ExpiresIn: int64(s.cfg.AccessTTL / time.Second), Scope: oauth.JoinScope(scope)}
	if slices.Contains(client.GrantTypes, "refresh_token") {
		refresh := s.newRefreshToken(g.ID)
		// A refresh token keeps the grant's full scope (RFC 6749 §6).
		tokens = append(tokens, &store.Token{Hash: secrets.Hash(refresh), Kind: store.KindRefresh, GrantID: g.ID,
			Issuance: issuance, Scope: g.Scope, IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)})
		if client.TokenEndpointAuthMethod == oauth.AuthMethodNone {
			tokens[1].JKT = jkt
		}
		resp.RefreshToken = refresh
	}
	var err error
	var retried *store.Token
	if old != nil {
		var answer store.Answer
		if answer, err = s.sealAnswer(old.Hash, resp, now); err != nil {
			s.log.ErrorContext(ctx, "seal token response", "err", err)
			return nil, oauth.ServerError("could not issue tokens")
		}
		err = s.store.RotateRefresh(ctx, old.Hash, now, func(stored *store.Token) store.Rotation {
			decision := rotation(stored, now)
			if decision == store.RotateRetry {
				retried = stored
			}
			return decision
		}, tokens, answer)
	} else {
		err = s.store.SaveTokens(ctx, tokens...)
	}
	if err == nil && retried != nil {
		again, oerr := s.openAnswer(retried, now)
		if oerr != nil {
			s.log.ErrorContext(ctx, "open the kept token response", "err", oerr)
			return nil, oauth.ServerError("could not repeat the token response")
		}
		s.audit(ctx, "refresh retried within grace; same tokens answered", "client_id", client.ID, "sub", g.Subject)
		return again, nil
	}
	if err == nil {
		grant := "authorization_code"
		if old != nil {
			grant = "refresh_token"
		}
		s.metrics.issued.WithLabelValues(grant).Inc()
		s.log.DebugContext(ctx, "tokens issued", "client_id", client.ID, "sub", g.Subject, "scope", oauth.JoinScope(scope),
			"refresh_token", resp.RefreshToken != "", "rotation", old != nil)
	}
	switch {
	case errors.Is(err, store.ErrReused):
		s.metrics.revocations.WithLabelValues("refresh_reuse").Inc()
		s.audit(ctx, "token family revoked", "reason", "refresh token reused", "client_id", client.ID, "sub", g.Subject)
		s.log.WarnContext(ctx, "refresh token reused; token family revoked", "client_id", client.ID, "sub", g.Subject)
		return nil, oauth.InvalidGrant("the refresh token was already used; every token of this grant is revoked")
	case errors.Is(err, store.ErrRevoked), errors.Is(err, store.ErrNotFound):
		return nil, oauth.InvalidGrant("the refresh token was revoked")
	case err != nil:
		return nil, s.unavailable(ctx, "storage", err)
	}
	return resp, nil
}
