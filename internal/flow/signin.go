package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/ui"
)

// authFailed is a sign-in that failed at step (reported there).
type authFailed struct{ step string }

func (e *authFailed) Error() string { return "the sign-in failed at " + e.step }

// authorize signs in because the MCP server answered status with
// challenge c to a request sent with token used. The first time it
// discovers and registers; on a 403 it steps up to the union of the scopes
// asked for, granted and now challenged (SEP-2350). A request that raced
// another's sign-in just uses the new token.
func (r *runner) authorize(ctx context.Context, used string, status int, c oauth.BearerChallenge, method string) error {
	r.authMu.Lock()
	defer r.authMu.Unlock()
	if r.access != used {
		return nil
	}
	if r.signIns == maxSignIns {
		return &authFailed{step: fmt.Sprintf("%s: still refused after %d sign-ins; giving up", method, maxSignIns)}
	}
	r.signIns++
	var steps []step
	switch {
	case !r.discovered:
		r.challenge = c
		steps = []step{{stepProbe, func(context.Context) (string, error) { return r.discover(status, method) }},
			{stepPRM, r.fetchPRM}, {stepASMeta, r.fetchASMeta}, {stepRegister, r.register}}
		r.asked = oauth.ParseScope(r.opts.Scope)
		if len(r.asked) == 0 {
			// The MCP scope selection strategy: what the 401 asks for,
			// else all of scopes_supported, else no scope at all.
			r.asked = oauth.ParseScope(c.Scope)
		}
	case status == http.StatusForbidden:
		want := union(r.asked, r.scope, oauth.ParseScope(c.Scope))
		steps = []step{{stepStepUp, func(context.Context) (string, error) {
			return fmt.Sprintf("403 insufficient_scope on %s → ask for %q", method, oauth.JoinScope(want)), nil
		}}}
		r.asked = want
	default:
		steps = []step{{stepProbe, func(context.Context) (string, error) {
			return fmt.Sprintf("401 on %s with a token (%s): signing in again", method, orNone(c.Error)), nil
		}}}
	}
	switch r.opts.Grant {
	case GrantClientCredentials, GrantIDJAG:
		steps = slices.DeleteFunc(steps, func(s step) bool { return s.name == stepRegister })
		token := r.clientCredentialsToken
		if r.opts.Grant == GrantIDJAG {
			token = r.idJAGToken
		}
		steps = append(steps, step{stepToken, token})
	default:
		steps = append(steps, step{stepBrowser, r.signIn}, step{stepToken, r.exchange})
	}
	for _, s := range steps {
		if !r.run(ctx, s.name, s.fn) {
			return &authFailed{step: s.name}
		}
	}
	r.discovered = true
	return nil
}

func (r *runner) discover(status int, method string) (string, error) {
	c := r.challenge
	if status != http.StatusUnauthorized {
		return "", fmt.Errorf("the first refusal, on %s, was %d, not 401", method, status)
	}
	if c.ResourceMetadata == "" {
		return fmt.Sprintf("401 on %s without resource_metadata: trying the well-known locations", method), nil
	}
	return fmt.Sprintf("401 on %s → resource metadata at %s", method, c.ResourceMetadata), nil
}

func union(sets ...[]string) []string {
	var out []string
	for _, set := range sets {
		for _, s := range set {
			if !slices.Contains(out, s) {
				out = append(out, s)
			}
		}
	}
	return out
}

func orNone(s string) string {
	if s == "" {
		return "no error code"
	}
	return s
}

// fetchPRM reads the resource metadata named by the challenge, else tries
// the RFC 9728 §3.1 locations: path-inserted, then the origin's root. A
// server with none is a 2025-03-26 server whose origin is its own
// authorization server.
func (r *runner) fetchPRM(ctx context.Context) (string, error) {
	candidates := []string{r.challenge.ResourceMetadata}
	if r.challenge.ResourceMetadata == "" {
		u, err := url.Parse(r.opts.Server)
		if err != nil {
			return "", err
		}
		path := strings.TrimSuffix(u.Path, "/")
		u.RawQuery, u.Path = "", oauth.WellKnownProtectedResource+path
		candidates = []string{u.String()}
		if path != "" {
			u.Path = oauth.WellKnownProtectedResource
			candidates = append(candidates, u.String())
		}
	}
	var err error
	for _, c := range candidates {
		if err = r.getJSON(ctx, c, &r.prm); err == nil {
			break
		}
	}
	if err != nil && r.challenge.ResourceMetadata == "" {
		u, _ := url.Parse(r.opts.Server) // parsed above
		r.prm = oauth.ProtectedResourceMetadata{Resource: r.opts.Server, AuthorizationServers: []string{u.Scheme + "://" + u.Host}}
		r.legacy = true
		return "no resource metadata: the 2025-03-26 fallback, its origin is the authorization server", nil
	}
	if err != nil {
		return "", err
	}
	if !coversURL(r.prm.Resource, r.opts.Server) {
		return "", fmt.Errorf("the metadata's resource %q is not the MCP URL %q", r.prm.Resource, r.opts.Server)
	}
	if len(r.prm.AuthorizationServers) == 0 {
		return "", errors.New("the resource metadata names no authorization server")
	}
	return "authorization server " + r.prm.AuthorizationServers[0], nil
}

// fetchASMeta tries the discovery URLs of the MCP authorization spec in
// order: RFC 8414 (path inserted), then OpenID Connect Discovery.
func (r *runner) fetchASMeta(ctx context.Context) (string, error) {
	issuer := r.prm.AuthorizationServers[0]
	urls, err := oauth.MetadataURLs(issuer)
	if err != nil {
		return "", err
	}
	var lastErr error
	for _, u := range urls {
		if lastErr = r.getJSON(ctx, u, &r.meta); lastErr == nil {
			break
		}
	}
	if lastErr != nil && r.legacy {
		// 2025-03-26: without metadata, the default endpoints at the origin.
		r.meta = oauth.ServerMetadata{Issuer: issuer, AuthorizationEndpoint: issuer + "/authorize",
			TokenEndpoint: issuer + "/token", RegistrationEndpoint: issuer + "/register",
			CodeChallengeMethodsSupported: []string{oauth.MethodS256}}
		return "no metadata: the 2025-03-26 default endpoints /authorize, /token, /register", nil
	}
	if lastErr != nil {
		return "", lastErr
	}
	switch {
	case r.meta.Issuer != issuer && !r.legacy: // 2025-03-26 servers predate the issuer check
		return "", fmt.Errorf("the metadata's issuer %q differs from %q (RFC 8414 §3.3)", r.meta.Issuer, issuer)
	case r.opts.Grant == GrantAuthorizationCode && !slices.Contains(r.meta.CodeChallengeMethodsSupported, oauth.MethodS256):
		return "", errors.New("the authorization server does not advertise PKCE S256, which MCP requires")
	}
	if len(r.asked) == 0 && r.opts.Scope == "" {
		r.asked = r.prm.ScopesSupported
	}
	return fmt.Sprintf("S256 ✓, iss %v, registration %v, metadata documents %v", r.meta.AuthorizationResponseIssParameterSupported,
		r.meta.RegistrationEndpoint != "", r.meta.ClientIDMetadataDocumentSupported), nil
}

// register picks how this client identifies itself, in the order of the
// MCP authorization spec: a pre-registered client, else a Client ID
// Metadata Document where the server supports them, else dynamic
// registration (RFC 7591).
func (r *runner) register(ctx context.Context) (string, error) {
	cb, err := listenCallback(r.opts.CallbackPort)
	if err != nil {
		return "", err
	}
	r.redirectURI, r.callback = cb.RedirectURI(), cb
	switch {
	case r.clientID != "":
		return "", errSkip{"using client " + r.clientID}
	case r.opts.ClientIDMetadataURL != "" && r.meta.ClientIDMetadataDocumentSupported:
		r.clientID = r.opts.ClientIDMetadataURL
		return "client id metadata document " + r.clientID, nil
	case r.meta.RegistrationEndpoint == "":
		return "", errors.New("the authorization server offers no dynamic registration; pass --client-id (or --client-id-metadata-url where it takes metadata documents)")
	}
	registration := map[string]any{
		"client_name": "tmcp flow test", "redirect_uris": []string{r.redirectURI},
		"grant_types": []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}, "response_types": []string{"code"},
		"token_endpoint_auth_method": oauth.AuthMethodNone, "application_type": "native",
	}
	if len(r.asked) > 0 {
		registration["scope"] = oauth.JoinScope(r.asked)
	}
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		AuthMethod   string `json:"token_endpoint_auth_method"`
		// RFC 7592: how to delete the client when the run is over.
		RegistrationAccessToken string `json:"registration_access_token"`
		RegistrationClientURI   string `json:"registration_client_uri"`
	}
	if err := r.fetch(ctx, oauth.Call{URL: r.meta.RegistrationEndpoint, JSON: registration}, &out); err != nil {
		return "", err
	}
	r.clientID, r.secret, r.authMethod = out.ClientID, out.ClientSecret, out.AuthMethod
	r.registrationURI, r.registrationToken = out.RegistrationClientURI, out.RegistrationAccessToken
	if r.secret == "" {
		return "public client " + out.ClientID, nil
	}
	return "client " + out.ClientID + " (" + r.tokenAuthMethod() + ")", nil
}

// signIn sends the browser to the authorization endpoint and waits for
// the callback.
func (r *runner) signIn(ctx context.Context) (string, error) {
	r.verifier, r.state = secrets.Random(48), secrets.Random(24)
	q := url.Values{
		"response_type": {"code"}, "client_id": {r.clientID}, "redirect_uri": {r.redirectURI},
		"state": {r.state}, "code_challenge": {oauth.S256Challenge(r.verifier)}, "code_challenge_method": {oauth.MethodS256},
		"resource": {r.prm.Resource},
	}
	if len(r.asked) > 0 {
		q.Set("scope", oauth.JoinScope(r.asked))
	}
	authURL := r.meta.AuthorizationEndpoint + "?" + q.Encode()
	r.callback.drain()
	if r.opts.NoBrowser {
		fmt.Fprintf(r.opts.Prompt, "Open this URL in your browser to sign in:\n\n  %s\n\n", authURL)
	} else if err := r.opts.Open(authURL); err != nil {
		fmt.Fprintf(r.opts.Prompt, "Could not open a browser (%v). Open this URL to sign in:\n\n  %s\n\n", err, authURL)
	} else {
		fmt.Fprintf(r.opts.Prompt, "Opened the browser to sign in; waiting up to %s…\n", ui.Duration(r.opts.Timeout))
	}
	fmt.Fprintln(r.opts.Prompt, "If the browser shows an error instead, press Ctrl-C and run: tmcp doctor")
	waitCtx, fail := context.WithCancelCause(ctx)
	defer fail(nil)
	go r.watchSignIn(waitCtx, r.meta.Issuer, r.clientID, time.Now().Add(-time.Second), fail)
	res, err := r.callback.wait(waitCtx, r.opts.Timeout)
	if cause := context.Cause(waitCtx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		err = cause
	}
	if err != nil {
		return "", err
	}
	if e := res.Get("error"); e != "" {
		return "", fmt.Errorf("the authorization server answered %s: %s", e, res.Get("error_description"))
	}
	if !secrets.Equal(res.Get("state"), r.state) {
		return "", errors.New("the callback's state does not match the request's (possible CSRF)")
	}
	iss := res.Get("iss")
	if iss != "" && iss != r.meta.Issuer || iss == "" && r.meta.AuthorizationResponseIssParameterSupported {
		return "", fmt.Errorf("the callback's iss %q is not the issuer %q (RFC 9207: possible mix-up attack)", iss, r.meta.Issuer)
	}
	r.code = res.Get("code")
	if r.code == "" {
		return "", errors.New("the callback carries no code")
	}
	return "callback on " + r.redirectURI + ": state ✓ iss ✓", nil
}

type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
}

func (r *runner) exchange(ctx context.Context) (string, error) {
	var t tokenResponse
	err := r.tokenCall(ctx, url.Values{"grant_type": {oauth.GrantAuthorizationCode}, "code": {r.code},
		"code_verifier": {r.verifier}, "redirect_uri": {r.redirectURI}, "resource": {r.prm.Resource}}, &t)
	if err != nil {
		return "", err
	}
	switch {
	case t.AccessToken == "":
		return "", fmt.Errorf("the token response has token_type %q and no usable access token", t.TokenType)
	case r.dpop != nil && !strings.EqualFold(t.TokenType, dpop.TokenType):
		return "", fmt.Errorf("the token response has token_type %q, not DPoP: the authorization server did not bind the token to the proof's key (RFC 9449 §5)", t.TokenType)
	case r.dpop == nil && !strings.EqualFold(t.TokenType, "Bearer"):
		return "", fmt.Errorf("the token response has token_type %q, not Bearer", t.TokenType)
	}
	r.access, r.refresh, r.scope = t.AccessToken, t.RefreshToken, oauth.ParseScope(t.Scope)
	if t.Scope == "" { // RFC 6749 §5.1: the scope asked for
		r.scope = r.asked
	}
	return fmt.Sprintf("scope %q, expires in %ds, refresh token %v", t.Scope, t.ExpiresIn, t.RefreshToken != ""), nil
}

// tokenAuthMethod is how a confidential client authenticates: as its
// registration says, else HTTP Basic unless the server supports only post.
func (r *runner) tokenAuthMethod() string {
	switch {
	case r.authMethod == oauth.AuthMethodPost || r.authMethod == oauth.AuthMethodBasic:
		return r.authMethod
	case len(r.meta.TokenEndpointAuthMethodsSupported) > 0 &&
		!slices.Contains(r.meta.TokenEndpointAuthMethodsSupported, oauth.AuthMethodBasic) &&
		slices.Contains(r.meta.TokenEndpointAuthMethodsSupported, oauth.AuthMethodPost):
		return oauth.AuthMethodPost
	}
	return oauth.AuthMethodBasic
}

// credentials authenticate this client: HTTP Basic or the body for a
// confidential client, client_id in the body for a public one.
func (r *runner) credentials() oauth.ClientCredentials {
	if r.secret == "" {
		return oauth.ClientCredentials{ID: r.clientID, Method: oauth.AuthMethodNone}
	}
	return oauth.ClientCredentials{ID: r.clientID, Secret: r.secret, Method: r.tokenAuthMethod()}
}

func (r *runner) tokenCall(ctx context.Context, form url.Values, out any) error {
	creds := r.credentials()
	if r.opts.ClientKey != nil {
		assertion, err := r.clientAssertion()
		if err != nil {
			return fmt.Errorf("sign the client assertion: %w", err)
		}
		form.Set("client_assertion_type", clientAssertionType)
		form.Set("client_assertion", assertion)
		creds = oauth.ClientCredentials{ID: r.clientID, Method: oauth.AuthMethodNone}
	}
	c := oauth.Call{URL: r.meta.TokenEndpoint, Form: form, Client: creds}
	if r.dpop != nil {
		return r.dpopTokenCall(ctx, c, out)
	}
	return r.fetch(ctx, c, out)
}

func (r *runner) getJSON(ctx context.Context, u string, out any) error {
	return r.fetch(ctx, oauth.Call{URL: u}, out)
}

func (r *runner) send(ctx context.Context, c oauth.Call) (*oauth.Answer, error) {
	return oauth.Do(ctx, r.opts.HTTP, c)
}

// fetch decodes a 2xx JSON answer; an OAuth error body reads
// "code: description".
func (r *runner) fetch(ctx context.Context, c oauth.Call, out any) error {
	return oauth.Fetch(ctx, r.opts.HTTP, c, out)
}

// coversURL reports whether resource identifies the MCP server at mcpURL:
// the same URL, or (as MCP clients accept) a URL on the same origin whose
// path is a prefix of the MCP URL's.
func coversURL(resource, mcpURL string) bool {
	if oauth.SameResource(resource, mcpURL) {
		return true
	}
	r, err1 := url.Parse(resource)
	m, err2 := url.Parse(mcpURL)
	if err1 != nil || err2 != nil || r.Scheme != m.Scheme || r.Host != m.Host || r.RawQuery != "" {
		return false
	}
	prefix := strings.TrimSuffix(r.Path, "/") + "/"
	return prefix == "/" || strings.HasPrefix(m.Path+"/", prefix)
}

// unregister deletes the client this run registered (RFC 7592 §2.3), so
// runs do not pile up clients at the authorization server.
func (r *runner) unregister(ctx context.Context) (string, error) {
	a, err := r.send(ctx, oauth.Call{Method: http.MethodDelete, URL: r.registrationURI, Bearer: r.registrationToken})
	if err != nil {
		return "", err
	}
	if a.Status != http.StatusNoContent && a.Status != http.StatusOK {
		return "", errWarn{fmt.Sprintf("deleting client %s at %s answered %d; it stays registered", r.clientID, r.registrationURI, a.Status)}
	}
	return "deleted client " + r.clientID + " (RFC 7592)", nil
}
