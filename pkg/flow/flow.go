// Package flow is `tmcp flow test`: the operator's end-to-end check. From
// an MCP server's URL alone it discovers the authorization server (RFC 9728,
// RFC 8414), registers (RFC 7591), signs in through the browser with PKCE
// S256 and a resource indicator (RFC 8707), checks state and iss (RFC
// 9207), calls the MCP server's tools, and probes refresh, step-up and
// revocation, reporting each step.
package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/tmcp-dev/tmcp/pkg/oauth"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
)

// Options configure a run.
type Options struct {
	Server       string // the MCP endpoint URL
	SSE          bool   // use the legacy SSE transport
	ClientID     string // skip registration and use this client
	ClientSecret string
	CallbackPort int
	Scope        string // default: what the server's 401 asks for
	NoBrowser    bool
	Timeout      time.Duration // for the browser step
	// SkipProbes stops after the tool calls: no refresh, step-up,
	// revocation or CORS probes (for servers that are not tmcp's).
	SkipProbes bool
	// Open opens the authorization URL; default OpenBrowser.
	Open func(url string) error
	// Prompt receives instructions for the person at the terminal.
	Prompt io.Writer
	// Notify is called as each step finishes.
	Notify func(*Step)
	HTTP   *http.Client
}

// Step names.
const (
	stepProbe    = "discover"
	stepPRM      = "resource meta"
	stepASMeta   = "auth meta"
	stepRegister = "register"
	stepBrowser  = "sign in"
	stepToken    = "token"
	stepInit     = "initialize"
	stepTools    = "tools/list"
	stepWhoami   = "whoami"
	stepRead     = "list_tasks"
	stepRefresh  = "refresh"
	stepStepUp   = "step-up"
	stepRevoke   = "revoke"
	stepCORS     = "cors"
)

type runner struct {
	opts   Options
	report *Report

	challenge   oauth.BearerChallenge
	prm         oauth.ProtectedResourceMetadata
	meta        oauth.ServerMetadata
	redirectURI string
	clientID    string
	secret      string
	verifier    string
	state       string
	code        string
	access      string
	refresh     string
	scope       []string
	access2     string
	refresh2    string
	mcp         *client.Client
	callback    *callbackServer
	tools       []string
	legacy      bool   // a 2025-03-26 server without resource metadata
	authMethod  string // how this client authenticates at the token endpoint
}

// Run runs the whole flow and returns its report; Report.OK tells success.
func Run(ctx context.Context, opts Options) *Report {
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Timeout: 15 * time.Second}
	}
	if opts.Open == nil {
		opts.Open = OpenBrowser
	}
	if opts.Prompt == nil {
		opts.Prompt = io.Discard
	}
	if opts.Timeout == 0 {
		opts.Timeout = 5 * time.Minute
	}
	r := &runner{opts: opts, report: &Report{Server: opts.Server}, clientID: opts.ClientID, secret: opts.ClientSecret}
	start := time.Now()
	defer func() {
		r.report.Millis = time.Since(start).Milliseconds()
		r.report.OK = r.report.Failed() == nil
		if r.mcp != nil {
			r.mcp.Close()
		}
		if r.callback != nil {
			r.callback.close()
		}
	}()
	steps := []step{
		{stepProbe, r.probe}, {stepPRM, r.fetchPRM}, {stepASMeta, r.fetchASMeta}, {stepRegister, r.register},
		{stepBrowser, r.signIn}, {stepToken, r.exchange}, {stepInit, r.initialize}, {stepTools, r.listTools},
		{stepWhoami, r.whoami}, {stepRead, r.readTool}, {stepRefresh, r.refreshProbe}, {stepStepUp, r.stepUp},
		{stepRevoke, r.revoke}, {stepCORS, r.cors},
	}
	if opts.SkipProbes {
		probes := []string{stepRefresh, stepStepUp, stepRevoke, stepCORS}
		steps = slices.DeleteFunc(steps, func(s step) bool { return slices.Contains(probes, s.name) })
	}
	for _, s := range steps {
		if !r.run(ctx, s.name, s.fn) {
			break
		}
	}
	return r.report
}

type step struct {
	name string
	fn   func(context.Context) (string, error)
}

// errSkip marks a step that does not apply; its message is the reason.
type errSkip struct{ reason string }

func (e errSkip) Error() string { return e.reason }

func (r *runner) run(ctx context.Context, name string, fn func(context.Context) (string, error)) bool {
	start := time.Now()
	detail, err := fn(ctx)
	s := &Step{Name: name, OK: err == nil, Duration: time.Since(start), Detail: detail}
	s.Millis = s.Duration.Milliseconds()
	var skip errSkip
	switch {
	case errors.As(err, &skip):
		s.OK, s.Skipped, s.Detail = true, true, skip.reason
	case err != nil:
		s.Error = err.Error()
		s.Hint = hintFor(name, s.Error)
	}
	r.report.Steps = append(r.report.Steps, s)
	if r.opts.Notify != nil {
		r.opts.Notify(s)
	}
	return s.OK
}

// probe calls the MCP server without a token: it must answer 401 with a
// challenge naming its resource metadata (MCP authorization, RFC 9728 §5.1).
func (r *runner) probe(ctx context.Context) (string, error) {
	call := oauth.Call{URL: r.opts.Server, Header: http.Header{"Accept": {"text/event-stream"}}}
	if !r.opts.SSE {
		call.JSON = json.RawMessage(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"tmcp-flow-test","version":"1"}}}`)
		call.Header.Set("Accept", "application/json, text/event-stream")
	}
	resp, err := r.send(ctx, call)
	if err != nil {
		return "", fmt.Errorf("cannot reach the MCP server: %w", err)
	}
	if resp.Status != http.StatusUnauthorized {
		return "", fmt.Errorf("the MCP server answered %d without a token; a protected server answers 401", resp.Status)
	}
	c, err := oauth.ParseBearerChallenge(resp.Header.Get("WWW-Authenticate"))
	if err != nil {
		return "", fmt.Errorf("the 401 carries no Bearer challenge: %q", resp.Header.Get("WWW-Authenticate"))
	}
	r.challenge = c
	if c.ResourceMetadata == "" {
		return "401 without resource_metadata: trying the well-known locations", nil
	}
	return "401 → resource metadata at " + c.ResourceMetadata, nil
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
		u, _ := url.Parse(r.opts.Server)
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
	case !slices.Contains(r.meta.CodeChallengeMethodsSupported, oauth.MethodS256):
		return "", errors.New("the authorization server does not advertise PKCE S256, which MCP requires")
	}
	return fmt.Sprintf("S256 ✓, iss %v, registration %v", r.meta.AuthorizationResponseIssParameterSupported, r.meta.RegistrationEndpoint != ""), nil
}

func (r *runner) register(ctx context.Context) (string, error) {
	cb, err := listenCallback(r.opts.CallbackPort)
	if err != nil {
		return "", err
	}
	r.redirectURI, r.callback = cb.RedirectURI(), cb
	if r.clientID != "" {
		return "", errSkip{"using client " + r.clientID}
	}
	if r.meta.RegistrationEndpoint == "" {
		return "", errors.New("the authorization server offers no dynamic registration; pass --client-id")
	}
	registration := map[string]any{
		"client_name": "tmcp flow test", "redirect_uris": []string{r.redirectURI},
		"grant_types": []string{oauth.GrantAuthorizationCode, oauth.GrantRefreshToken}, "response_types": []string{"code"},
		"token_endpoint_auth_method": oauth.AuthMethodNone, "application_type": "native",
	}
	var out struct {
		ClientID     string `json:"client_id"`
		ClientSecret string `json:"client_secret"`
		AuthMethod   string `json:"token_endpoint_auth_method"`
	}
	if err := r.fetch(ctx, oauth.Call{URL: r.meta.RegistrationEndpoint, JSON: registration}, &out); err != nil {
		return "", err
	}
	r.clientID, r.secret, r.authMethod = out.ClientID, out.ClientSecret, out.AuthMethod
	if r.secret == "" {
		return "public client " + out.ClientID, nil
	}
	return "client " + out.ClientID + " (" + r.tokenAuthMethod() + ")", nil
}

func (r *runner) signIn(ctx context.Context) (string, error) {
	cb := r.callback
	defer cb.close() // the listener is not needed past this step
	r.verifier, r.state = secrets.Random(48), secrets.Random(24)
	// The MCP scope selection strategy: what the 401 asks for, else all
	// of scopes_supported, else no scope at all.
	r.scope = oauth.ParseScope(r.opts.Scope)
	if len(r.scope) == 0 {
		r.scope = oauth.ParseScope(r.challenge.Scope)
	}
	if len(r.scope) == 0 {
		r.scope = r.prm.ScopesSupported
	}
	q := url.Values{
		"response_type": {"code"}, "client_id": {r.clientID}, "redirect_uri": {r.redirectURI},
		"state": {r.state}, "code_challenge": {oauth.S256Challenge(r.verifier)}, "code_challenge_method": {oauth.MethodS256},
		"resource": {r.prm.Resource},
	}
	if len(r.scope) > 0 {
		q.Set("scope", oauth.JoinScope(r.scope))
	}
	authURL := r.meta.AuthorizationEndpoint + "?" + q.Encode()
	if r.opts.NoBrowser {
		fmt.Fprintf(r.opts.Prompt, "Open this URL in your browser to sign in:\n\n  %s\n\n", authURL)
	} else if err := r.opts.Open(authURL); err != nil {
		fmt.Fprintf(r.opts.Prompt, "Could not open a browser (%v). Open this URL to sign in:\n\n  %s\n\n", err, authURL)
	} else {
		fmt.Fprintf(r.opts.Prompt, "Opened the browser to sign in; waiting up to %s…\n", r.opts.Timeout)
	}
	res, err := cb.wait(ctx, r.opts.Timeout)
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
	if !strings.EqualFold(t.TokenType, "Bearer") || t.AccessToken == "" {
		return "", fmt.Errorf("the token response has token_type %q and no usable access token", t.TokenType)
	}
	r.access, r.refresh, r.scope = t.AccessToken, t.RefreshToken, oauth.ParseScope(t.Scope)
	return fmt.Sprintf("scope %q, expires in %ds, refresh token %v", t.Scope, t.ExpiresIn, t.RefreshToken != ""), nil
}

func (r *runner) initialize(ctx context.Context) (string, error) {
	headers := map[string]string{"Authorization": "Bearer " + r.access}
	var c *client.Client
	var err error
	if r.opts.SSE {
		c, err = client.NewSSEMCPClient(r.opts.Server, client.WithHeaders(headers))
	} else {
		c, err = client.NewStreamableHttpClient(r.opts.Server, transport.WithHTTPHeaders(headers))
	}
	if err != nil {
		return "", err
	}
	if err := c.Start(context.WithoutCancel(ctx)); err != nil {
		return "", fmt.Errorf("connect: %w", err)
	}
	r.mcp = c
	req := mcp.InitializeRequest{}
	req.Params.ClientInfo = mcp.Implementation{Name: "tmcp-flow-test", Version: "1"}
	res, err := c.Initialize(ctx, req)
	if err != nil {
		return "", fmt.Errorf("initialize with the new token: %w", err)
	}
	via := "Streamable HTTP"
	if r.opts.SSE {
		via = "SSE"
	}
	return fmt.Sprintf("%s %s over %s, protocol %s", res.ServerInfo.Name, res.ServerInfo.Version, via, c.ProtocolVersion()), nil
}

func (r *runner) listTools(ctx context.Context) (string, error) {
	res, err := r.mcp.ListTools(ctx, mcp.ListToolsRequest{})
	if err != nil {
		return "", err
	}
	names := make([]string, 0, len(res.Tools))
	for _, t := range res.Tools {
		names = append(names, t.Name)
	}
	r.tools = names
	return fmt.Sprintf("%d tools: %s", len(names), strings.Join(names, ", ")), nil
}

func (r *runner) callTool(ctx context.Context, name string, args map[string]any) (string, error) {
	req := mcp.CallToolRequest{}
	req.Params.Name, req.Params.Arguments = name, args
	res, err := r.mcp.CallTool(ctx, req)
	if err != nil {
		return "", err
	}
	text := ""
	for _, c := range res.Content {
		if tc, ok := c.(mcp.TextContent); ok {
			text += tc.Text
		}
	}
	if res.IsError {
		return "", fmt.Errorf("%s failed: %s", name, text)
	}
	return text, nil
}

func (r *runner) whoami(ctx context.Context) (string, error) {
	if !slices.Contains(r.tools, "whoami") {
		return "", errSkip{"the server has no whoami tool"}
	}
	text, err := r.callTool(ctx, "whoami", nil)
	if err != nil {
		return "", err
	}
	var id struct {
		Username  string   `json:"username"`
		ClientID  string   `json:"client_id"`
		Scopes    []string `json:"scopes"`
		ExpiresAt string   `json:"expires_at"`
	}
	if err := json.Unmarshal([]byte(text), &id); err != nil {
		return "", fmt.Errorf("whoami answered something other than an identity: %.80s", text)
	}
	if id.ClientID != r.clientID {
		return "", fmt.Errorf("whoami names client %q, not this one (%q)", id.ClientID, r.clientID)
	}
	return fmt.Sprintf("%s via %s, scopes %s", id.Username, id.ClientID, strings.Join(id.Scopes, " ")), nil
}

func (r *runner) readTool(ctx context.Context) (string, error) {
	if !slices.Contains(r.tools, "list_tasks") {
		return "", errSkip{"the server has no list_tasks tool"}
	}
	if !slices.Contains(r.scope, "read") {
		return "", errSkip{"the token has no read scope"}
	}
	text, err := r.callTool(ctx, "list_tasks", nil)
	if err != nil {
		return "", err
	}
	var tasks []json.RawMessage
	if err := json.Unmarshal([]byte(text), &tasks); err != nil {
		return "", fmt.Errorf("list_tasks answered something other than a list: %.80s", text)
	}
	return fmt.Sprintf("%d tasks at TaskManager", len(tasks)), nil
}

// refreshProbe rotates the refresh token. The new access token is kept
// unused until the revocation probe, so no cache has seen it.
func (r *runner) refreshProbe(ctx context.Context) (string, error) {
	if r.refresh == "" {
		return "", errSkip{"no refresh token was issued"}
	}
	var t tokenResponse
	if err := r.tokenCall(ctx, url.Values{"grant_type": {oauth.GrantRefreshToken}, "refresh_token": {r.refresh}, "resource": {r.prm.Resource}}, &t); err != nil {
		return "", err
	}
	if t.AccessToken == "" || t.AccessToken == r.access {
		return "", errors.New("the refresh returned no new access token")
	}
	r.access2, r.refresh2 = t.AccessToken, t.RefreshToken
	rotated := "rotated"
	if t.RefreshToken == "" || t.RefreshToken == r.refresh {
		rotated = "not rotated"
		r.refresh2 = r.refresh
	}
	return "new access token; refresh token " + rotated, nil
}

// stepUp calls a write tool with a token that lacks write: the server must
// answer 403 insufficient_scope naming the scopes to ask for.
func (r *runner) stepUp(ctx context.Context) (string, error) {
	if !slices.Contains(r.tools, "create_task") {
		return "", errSkip{"the server has no write tool to probe with"}
	}
	if slices.Contains(r.scope, "write") {
		return "", errSkip{"the token already has write"}
	}
	body := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"create_task","arguments":{"title":"flow test"}}}`
	resp, err := r.mcpPost(ctx, r.access, body)
	if err != nil {
		return "", err
	}
	c, _ := oauth.ParseBearerChallenge(resp.Header.Get("WWW-Authenticate"))
	if resp.Status != http.StatusForbidden || c.Error != oauth.CodeInsufficientScope {
		return "", fmt.Errorf("a write tool with a read-only token got %d %q, want 403 insufficient_scope", resp.Status, c.Error)
	}
	return fmt.Sprintf("403 insufficient_scope → ask for %q", c.Scope), nil
}

// revoke revokes the refresh token, which revokes its whole grant, and
// checks that the MCP server refuses the (never used) refreshed token.
func (r *runner) revoke(ctx context.Context) (string, error) {
	if r.meta.RevocationEndpoint == "" {
		return "", errSkip{"the authorization server has no revocation endpoint"}
	}
	token, probe := r.refresh2, r.access2
	if token == "" {
		token, probe = r.access, r.access
	}
	if err := r.fetch(ctx, oauth.Call{URL: r.meta.RevocationEndpoint, Form: url.Values{"token": {token}}, Client: r.credentials()}, nil); err != nil {
		return "", fmt.Errorf("revocation: %w", err)
	}
	body := `{"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	resp, err := r.mcpPost(ctx, probe, body)
	if err != nil {
		return "", err
	}
	if resp.Status != http.StatusUnauthorized {
		return "", fmt.Errorf("the MCP server answered %d to a revoked token, want 401", resp.Status)
	}
	return "revoked; the MCP server answers 401", nil
}

// cors sends the preflight a browser-based MCP client would.
func (r *runner) cors(ctx context.Context) (string, error) {
	const origin = "http://localhost:6274"
	resp, err := r.send(ctx, oauth.Call{Method: http.MethodOptions, URL: r.opts.Server, Header: http.Header{
		"Origin": {origin}, "Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization, content-type"}}})
	if err != nil {
		return "", err
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != origin && got != "*" {
		return "", fmt.Errorf("a preflight from %s got %d without Access-Control-Allow-Origin", origin, resp.Status)
	}
	return "preflight from " + origin + " allowed", nil
}

func (r *runner) mcpPost(ctx context.Context, token, body string) (*oauth.Answer, error) {
	return r.send(ctx, oauth.Call{URL: r.opts.Server, JSON: json.RawMessage(body), Bearer: token, Header: http.Header{
		"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-11-25"}}})
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
	return r.fetch(ctx, oauth.Call{URL: r.meta.TokenEndpoint, Form: form, Client: r.credentials()}, out)
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
