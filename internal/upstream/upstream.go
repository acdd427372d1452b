// Package upstream is tmcp's client of TaskManager (or any OAuth 2.0
// provider with the same endpoints): the authorization URL with tmcp's own
// PKCE pair, the code exchange and refresh (RFC 6749 §4.1.3, §6), the
// userinfo call, and the /api/oauth/clients management API.
package upstream

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/tmcp-dev/tmcp/internal/jwks"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Config names TaskManager's endpoints and tmcp's client there. Endpoint
// paths are relative to BaseURL unless absolute.
type Config struct {
	// Issuer, when set, is an OpenID Connect / RFC 8414 provider whose
	// metadata names the endpoints (see Discover).
	Issuer            string
	BaseURL           string
	AuthorizeEndpoint string
	TokenEndpoint     string
	ClientsEndpoint   string
	UserinfoEndpoint  string
	JWKSEndpoint      string
	ClientID          string
	ClientSecret      string
	// AuthMethod is client_secret_basic or client_secret_post.
	AuthMethod string
	// RedirectURL is tmcp's /oauth/callback.
	RedirectURL string
	Timeout     time.Duration

	// OpenID marks an OpenID Connect provider: tmcp asks it for "openid
	// email profile" (and offline_access where it offers refresh that
	// way) and reads who signed in from the ID token, then userinfo.
	OpenID bool
	// OfflineAccess asks for the offline_access scope, which OpenID
	// providers want before they issue a refresh token.
	OfflineAccess bool
	// Scopes says what to ask the provider for; nil asks for the MCP
	// client's scopes as they are (TaskManager's scopes are tmcp's).
	Scopes *ScopeMap
	// AuthParams are added to every authorization request (Google's
	// access_type=offline, Auth0's audience).
	AuthParams url.Values
	// UsernameClaim names the claim shown as the user's name; empty
	// takes the verified email, then preferred_username, then sub. A
	// claim named here is matched by the allow-list as given.
	UsernameClaim string
	// ProviderVerifiesEmail is the operator's word that the provider
	// issues only addresses it verified: an email claim without
	// email_verified counts as verified (an email_verified other than
	// true never does). For TaskManager, whose tokens carry no
	// email_verified.
	ProviderVerifiesEmail bool
	// GroupsClaim names the claim listing the user's groups (default
	// "groups"); when set, userinfo is asked if the token lacks it.
	GroupsClaim string
	// EmailsEndpoint is GitHub's /user/emails: its userinfo (/user) has
	// a numeric id and login, and the address may be private.
	EmailsEndpoint string
}

// Client talks to TaskManager.
type Client struct {
	cfg   Config
	oauth *oauth2.Config
	http  *http.Client
}

// Token is TaskManager's token set, as tmcp keeps it (sealed).
type Token struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitempty"`
	Scope        string    `json:"scope,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
}

// User is who the provider says signed in.
type User struct {
	Subject string `json:"sub"`
	// Email is the address the provider verified (OpenID Connect Core
	// §5.1: email_verified true), "" when it did not: the only address
	// tmcp admits by or passes on.
	Email string `json:"email"`
	Name  string `json:"name"`
	// Username is what tmcp shows (see Config.UsernameClaim): it may
	// be a name the user chose, and is never taken for an address.
	Username string `json:"username,omitempty"`
	// UsernameChosen says the operator named Username's claim
	// (Config.UsernameClaim), so the allow-list may match it.
	UsernameChosen bool     `json:"-"`
	Groups         []string `json:"groups,omitempty"`
}

// Error is an OAuth error TaskManager answered with.
type Error struct {
	Status      int
	Code        string
	Description string
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("TaskManager answered %d", e.Status)
	if e.Code != "" {
		msg += " " + e.Code
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// ErrUnavailable wraps every failure to reach TaskManager or to read its
// answer (down, timeout, not JSON), as opposed to an OAuth refusal.
var ErrUnavailable = errors.New("TaskManager is unreachable or answered something unexpected")

// New builds a client; it makes no request.
func New(cfg Config) (*Client, error) {
	if cfg.BaseURL == "" {
		return nil, errors.New("upstream: the TaskManager base URL is not set")
	}
	if _, err := url.ParseRequestURI(cfg.BaseURL); err != nil {
		return nil, fmt.Errorf("upstream: TaskManager base URL %q is not a URL", cfg.BaseURL)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 10 * time.Second
	}
	style := oauth2.AuthStyleInHeader
	switch cfg.AuthMethod {
	case "", oauth.AuthMethodBasic:
	case oauth.AuthMethodPost:
		style = oauth2.AuthStyleInParams
	default:
		return nil, fmt.Errorf("upstream: unknown client authentication method %q (use client_secret_basic or client_secret_post)", cfg.AuthMethod)
	}
	c := &Client{cfg: cfg, http: oauth.NewHTTPClient(cfg.Timeout)}
	c.oauth = &oauth2.Config{
		ClientID:     cfg.ClientID,
		ClientSecret: cfg.ClientSecret,
		Endpoint: oauth2.Endpoint{
			AuthURL:   c.Endpoint(cfg.AuthorizeEndpoint),
			TokenURL:  c.Endpoint(cfg.TokenEndpoint),
			AuthStyle: style,
		},
		RedirectURL: cfg.RedirectURL,
	}
	return c, nil
}

// Endpoint resolves an endpoint path against the base URL.
func (c *Client) Endpoint(p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return strings.TrimSuffix(c.cfg.BaseURL, "/") + "/" + strings.TrimPrefix(p, "/")
}

// ClientID is tmcp's client id at TaskManager.
func (c *Client) ClientID() string { return c.cfg.ClientID }

// AuthorizeURL is where the browser goes to log in at the provider, for
// the MCP client's scope. An OpenID provider also gets nonce, which its
// ID token must carry back (OpenID Connect Core §3.1.2.1).
func (c *Client) AuthorizeURL(state, verifier, nonce, mcpScope string) string {
	cfg := *c.oauth
	cfg.Scopes = c.UpstreamScopes(oauth.ParseScope(mcpScope))
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(verifier)}
	for k, vs := range c.cfg.AuthParams {
		for _, v := range vs {
			opts = append(opts, oauth2.SetAuthURLParam(k, v))
		}
	}
	if c.cfg.OpenID {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", nonce)) // last: no setting replaces it
	}
	return cfg.AuthCodeURL(state, opts...)
}

func (c *Client) ctx(ctx context.Context) context.Context {
	return context.WithValue(ctx, oauth2.HTTPClient, c.http)
}

// Exchange redeems TaskManager's code with tmcp's PKCE verifier.
func (c *Client) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	t, err := c.oauth.Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, mapError(err)
	}
	return fromOAuth2(t), nil
}

// Refresh gets a new token set from a refresh token. TaskManager may or
// may not rotate it; the returned set always holds the one to keep.
func (c *Client) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	t, err := c.oauth.TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken}).Token()
	if err != nil {
		return nil, mapError(err)
	}
	out := fromOAuth2(t)
	if out.RefreshToken == "" {
		out.RefreshToken = refreshToken
	}
	return out, nil
}

// call sends a request to TaskManager and decodes a 2xx JSON answer into
// out (ignored when nil); anything else becomes an *Error or
// ErrUnavailable.
func (c *Client) call(ctx context.Context, req oauth.Call, out any) error {
	return oauth.Classify(oauth.Fetch(ctx, c.http, req, out), ErrUnavailable, answered)
}

// answered keeps TaskManager's answer outside 2xx as an *Error for the
// caller to judge: its REST API answers by status (404, a 401 bearer
// challenge) as often as with an OAuth error.
func answered(ae *oauth.AnswerError) error {
	return &Error{Status: ae.Status, Code: ae.Code, Description: ae.Description}
}

func fromOAuth2(t *oauth2.Token) *Token {
	out := &Token{AccessToken: t.AccessToken, RefreshToken: t.RefreshToken, TokenType: t.TokenType, Expiry: t.Expiry}
	if s, ok := t.Extra("scope").(string); ok {
		out.Scope = s
	}
	if s, ok := t.Extra("id_token").(string); ok {
		out.IDToken = s
	}
	return out
}

// mapError turns x/oauth2's errors into *Error (an OAuth refusal) or
// ErrUnavailable (anything else). Response bodies are not repeated: they
// could hold secrets.
func mapError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			return &Error{Status: status, Code: re.ErrorCode, Description: re.ErrorDescription}
		}
		return fmt.Errorf("%w: the token endpoint answered %d without an OAuth error", ErrUnavailable, status)
	}
	return fmt.Errorf("%w: %s", ErrUnavailable, describeTokenError(err))
}

// describeTokenError names what went wrong with a token answer that
// x/oauth2 could not use, without anything a URL might carry.
func describeTokenError(err error) string {
	msg := oauth.DescribeNetError(err)
	switch {
	case strings.Contains(msg, "server response missing access_token"):
		return "the token answer has no access_token"
	case strings.Contains(msg, "cannot parse json") || strings.Contains(msg, "invalid character"):
		return "the token answer is not valid JSON"
	}
	return msg
}

// NewVerifier checks TaskManager's JWTs: its JWKS, issuer (default its
// base URL) and tmcp's client id as audience.
func (c *Client) NewVerifier(issuer string, now func() time.Time) *jwks.Verifier {
	if issuer == "" {
		issuer = strings.TrimSuffix(c.cfg.BaseURL, "/")
	}
	return jwks.NewVerifier(c.Endpoint(c.cfg.JWKSEndpoint), issuer, c.cfg.ClientID, c.http, now)
}

// Reachable reports whether TaskManager answers at all (any HTTP status).
func (c *Client) Reachable(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if _, err := oauth.Do(ctx, c.http, oauth.Call{URL: c.Endpoint(c.cfg.TokenEndpoint)}); err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	return nil
}
