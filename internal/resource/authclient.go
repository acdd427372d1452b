package resource

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/ttlcache"
)

// authClient is the resource server's back channel to the auth server:
// introspection (RFC 7662) and token exchange (RFC 8693), both
// authenticated with the resource server's own credentials.
type authClient struct {
	issuer       string
	clientID     string
	clientSecret string
	http         *http.Client
	now          func() time.Time

	mu   sync.Mutex
	meta *oauth.ServerMetadata

	principals *ttlcache.Cache[*Principal]
	verified   *ttlcache.Cache[*Principal] // verified JWTs, until they expire
	cacheTTL   time.Duration
	upstream   *ttlcache.Cache[string]
	assertions *ttlcache.Cache[string]

	verifierOnce sync.Once
	verifier     *jwks.Verifier
}

// errAuthServer means the auth server could not be asked; the request is
// answered 503, never let through.
var errAuthServer = errors.New("the authorization server is unreachable")

// errCredentialsRefused is the auth server refusing this resource
// server's introspection credentials: an operator's mistake, reported at
// /status (to a user it is errAuthServer like any other failure).
var errCredentialsRefused = errors.New("it refused this resource server's introspection credentials")

// authFailing is the auth server answering that it cannot serve the
// request now (503 temporarily_unavailable, server_error) and saying why:
// a fault like errAuthServer, which it wraps, but one that keeps the
// reason, such as TaskManager refusing tmcp's own client.
type authFailing struct{ Code, Description string }

func (e *authFailing) Error() string {
	return "the authorization server answered " + e.Code + ": " + e.Description
}

func (e *authFailing) Unwrap() error { return errAuthServer }

// metadata discovers the auth server's endpoints once; a failure is not
// remembered, so a resource server started before its auth server recovers.
func (a *authClient) metadata(ctx context.Context) (*oauth.ServerMetadata, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.meta != nil {
		return a.meta, nil
	}
	urls, err := oauth.MetadataURLs(a.issuer)
	if err != nil {
		return nil, err
	}
	var m oauth.ServerMetadata
	if err := a.call(ctx, oauth.Call{URL: urls[0]}, &m); err != nil {
		return nil, err
	}
	if m.Issuer != a.issuer || m.IntrospectionEndpoint == "" || m.TokenEndpoint == "" {
		return nil, fmt.Errorf("%w: its metadata names issuer %q and no introspection or token endpoint", errAuthServer, m.Issuer)
	}
	a.meta = &m
	return a.meta, nil
}

type introspection struct {
	Active   bool   `json:"active"`
	Scope    string `json:"scope"`
	ClientID string `json:"client_id"`
	Username string `json:"username"`
	Email    string `json:"email"`
	Subject  string `json:"sub"`
	Audience any    `json:"aud"`
	Exp      int64  `json:"exp"`
	Iat      int64  `json:"iat"`
	// Cnf names the key a DPoP-bound token is bound to (RFC 9449 §6.2).
	Cnf struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
}

// principal validates token, from the cache when a positive answer is
// fresh. It returns nil (and no error) for a token that is not active.
func (a *authClient) principal(ctx context.Context, token, resource string) (*Principal, error) {
	key := secrets.Hash(token)
	now := a.now()
	if p, ok := a.principals.Get(key, now); ok {
		return p, nil
	}
	if p, ok := a.verified.Get(key, now); ok {
		return p, nil
	}
	m, err := a.metadata(ctx)
	if err != nil {
		return nil, err
	}
	if m.JWKSURI != "" && jwks.LooksLikeJWT(token) {
		p, err := a.verifyJWT(ctx, m, token, resource)
		if p != nil {
			// A verified JWT is cached until it expires: it cannot be
			// revoked here anyway, and verifying a signature costs more
			// than a map lookup.
			a.verified.Put(key, p, p.Expiry, now)
		}
		return p, err
	}
	var in introspection
	if err := a.postForm(ctx, m.IntrospectionEndpoint, url.Values{"token": {token}, "token_type_hint": {"access_token"}}, &in); err != nil {
		return nil, err
	}
	exp := time.Unix(in.Exp, 0)
	if !in.Active || in.Exp == 0 || !now.Before(exp) || !audienceIs(in.Audience, resource) {
		return nil, nil
	}
	p := &Principal{Subject: in.Subject, Username: in.Username, Email: in.Email, ClientID: in.ClientID,
		Scopes: oauth.ParseScope(in.Scope), Expiry: exp, JKT: in.Cnf.JKT, token: token}
	// A cached answer never outlives the token, and a revocation is seen
	// at the latest after cacheTTL.
	until := now.Add(a.cacheTTL)
	if exp.Before(until) {
		until = exp
	}
	a.principals.Put(key, p, until, now)
	return p, nil
}

// audienceIs accepts aud as a string or a list (RFC 7662 §2.2 / RFC 7519).
func audienceIs(aud any, resource string) bool {
	switch v := aud.(type) {
	case string:
		return oauth.SameResource(v, resource)
	case []any:
		for _, x := range v {
			if s, ok := x.(string); ok && oauth.SameResource(s, resource) {
				return true
			}
		}
	}
	return false
}

// upstreamToken exchanges the principal's MCP token for the user's
// TaskManager token (RFC 8693), cached until it or the MCP token expires.
func (a *authClient) upstreamToken(ctx context.Context, p *Principal, taskManager string) (string, error) {
	return a.exchange(ctx, a.upstream, p, oauth.TokenTypeAccessToken, taskManager, "", 0)
}

// identityAssertion exchanges the principal's MCP token for a short-lived
// JWT, signed by the auth server, saying who the user is to audience (the
// MCP server behind the gateway). Each has a jti of its own, so a backend
// can take one once: an assertion is minted for every request, or once
// for a backend session (session, its id) and reused within it until a
// minute before it expires.
func (a *authClient) identityAssertion(ctx context.Context, p *Principal, audience, session string) (string, error) {
	if session == "" {
		return a.exchange(ctx, nil, p, oauth.TokenTypeJWT, audience, "", 0)
	}
	return a.exchange(ctx, a.assertions, p, oauth.TokenTypeJWT, audience, session, time.Minute)
}

// exchange is one RFC 8693 token exchange, cached (under the MCP token,
// audience and backend session) in cache, when there is one, until the answer (less
// early) or the MCP token expires.
func (a *authClient) exchange(ctx context.Context, cache *ttlcache.Cache[string], p *Principal, tokenType, audience, session string, early time.Duration) (string, error) {
	key := secrets.Hash(p.token + "\x00" + audience + "\x00" + session)
	now := a.now()
	if cache != nil {
		if t, ok := cache.Get(key, now); ok {
			return t, nil
		}
	}
	m, err := a.metadata(ctx)
	if err != nil {
		return "", err
	}
	var out struct {
		AccessToken string `json:"access_token"`
		ExpiresIn   int64  `json:"expires_in"`
	}
	err = a.postForm(ctx, m.TokenEndpoint, url.Values{
		"grant_type":           {oauth.GrantTokenExchange},
		"subject_token":        {p.token},
		"subject_token_type":   {oauth.TokenTypeAccessToken},
		"requested_token_type": {tokenType},
		"audience":             {audience},
	}, &out)
	if err != nil {
		return "", err
	}
	if out.AccessToken == "" {
		return "", fmt.Errorf("%w: the token exchange answered no token", errAuthServer)
	}
	until := now.Add(time.Duration(out.ExpiresIn)*time.Second - early)
	if p.Expiry.Before(until) {
		until = p.Expiry
	}
	if cache != nil {
		cache.Put(key, out.AccessToken, until, now)
	}
	return out.AccessToken, nil
}

// forget drops the TaskManager token cached for token (after TaskManager
// refused it).
func (a *authClient) forget(token, taskManager string) {
	a.upstream.Delete(secrets.Hash(token + "\x00" + taskManager + "\x00"))
}

// oauthRefusal is an OAuth error the auth server answered with.
type oauthRefusal struct{ Code, Description string }

func (e *oauthRefusal) Error() string { return "the authorization server refused: " + e.Code }

func (a *authClient) postForm(ctx context.Context, endpoint string, form url.Values, out any) error {
	return a.call(ctx, oauth.Call{URL: endpoint, Form: form,
		Client: oauth.ClientCredentials{ID: a.clientID, Secret: a.clientSecret, Method: oauth.AuthMethodBasic}}, out)
}

// call asks the auth server. Only an OAuth refusal of the request itself
// is returned as such; everything else, a refusal of this resource
// server's own credentials included, means the auth server cannot be
// asked now.
func (a *authClient) call(ctx context.Context, c oauth.Call, out any) error {
	return oauth.Classify(oauth.Fetch(ctx, a.http, c, out), errAuthServer, func(ae *oauth.AnswerError) error {
		switch {
		case !ae.Refusal() && ae.Code != "" && ae.Description != "":
			return &authFailing{Code: ae.Code, Description: ae.Description}
		case !ae.Refusal():
			return nil // the auth server failing, or no OAuth error: a fault
		case ae.Status == http.StatusUnauthorized:
			return fmt.Errorf("%w: %w (%s)", errAuthServer, errCredentialsRefused, ae.Code)
		}
		return &oauthRefusal{Code: ae.Code, Description: ae.Description}
	})
}

// verifyJWT checks a JWT access token (RFC 9068) locally against the
// auth server's JWKS: no round trip, and no revocation either, until the
// token expires.
func (a *authClient) verifyJWT(ctx context.Context, m *oauth.ServerMetadata, token, resource string) (*Principal, error) {
	a.verifierOnce.Do(func() {
		a.verifier = jwks.NewVerifier(m.JWKSURI, m.Issuer, resource, a.http, a.now).RequireType("at+jwt")
	})
	c, err := a.verifier.Verify(ctx, token)
	if errors.Is(err, jwks.ErrTokenRejected) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errAuthServer, err)
	}
	return &Principal{Subject: c.Subject, Username: c.Username, Email: c.Email, ClientID: c.ClientID, Scopes: oauth.ParseScope(c.Scope),
		Expiry: c.Expiry.Time(), JKT: confirmedKey(c.All), token: token}, nil
}

// confirmedKey is the jkt of a JWT's cnf claim (RFC 9449 §6.1), "" for
// none.
func confirmedKey(claims map[string]any) string {
	cnf, _ := claims["cnf"].(map[string]any)
	jkt, _ := cnf["jkt"].(string)
	return jkt
}

// ready checks that tokens can be checked now: an introspection of a
// random token answers 200 (inactive), or the JWKS answers.
func (a *authClient) ready(ctx context.Context) error {
	m, err := a.metadata(ctx)
	if err != nil {
		return err
	}
	var in introspection
	err = a.postForm(ctx, m.IntrospectionEndpoint, url.Values{"token": {"tmcp-readiness-" + secrets.Random(8)}}, &in)
	if err != nil && m.JWKSURI != "" {
		// JWT access tokens are checked against the JWKS alone.
		if _, jerr := oauth.Do(ctx, a.http, oauth.Call{URL: m.JWKSURI}); jerr == nil {
			return nil
		}
	}
	return err
}
