// Package doctor is `tmcp doctor`: it checks a deployment without a browser
// and explains each failure the way the troubleshooting guide does —
// TaskManager's endpoints, tmcp's client credentials and redirect URI
// there, the agreement between the auth server's metadata (RFC 8414) and
// the MCP server's (RFC 9728), the resource server's introspection
// credentials, clock skew, and CORS.
package doctor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/status"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// Options name the deployment to check.
type Options struct {
	Upstream         upstream.Config
	Session          upstream.Session // optional: lists TaskManager's clients
	AuthServer       string           // the issuer
	MCPServer        string           // the public MCP URL
	ResourceClientID string
	ResourceSecret   string
	Origin           string // for the CORS preflight
	// Sources says where each setting came from (Setting* names); a
	// setting at its default is taken from the running auth server.
	Sources map[string]string
	MaxSkew time.Duration
	HTTP    *http.Client
	Now     func() time.Time
}

// Check is one verdict.
type Check struct {
	Name string `json:"name"`
	OK   bool   `json:"ok"`
	Saw  string `json:"saw"`
	Fix  string `json:"fix,omitempty"`
}

// Report is every check.
type Report struct {
	OK bool `json:"ok"`
	// Settings are the values the checks used, and where they came from.
	Settings []Setting `json:"settings"`
	Checks   []*Check  `json:"checks"`
}

type doctor struct {
	opts     Options
	report   *Report
	dates    map[string]time.Time // Date headers seen, by server
	seenAt   map[string]time.Time // when they were seen
	meta     *oauth.ServerMetadata
	clientOK bool
	up       *upstream.Client
	tmDown   bool // TaskManager did not answer: its other checks are not run
	authDown bool

	authStatus *status.Auth // what the running servers say, when they do
	mcpStatus  *status.MCP
	// openID: the upstream is an OpenID provider (discovered endpoints),
	// not TaskManager: its TaskManager-only checks do not apply.
	openID bool
}

// notTaskManager is the verdict of a TaskManager-only check against an
// OpenID provider: passed, saying why it was not run.
func notTaskManager(name string) *Check {
	return ok(name, "not applicable: an OpenID provider has no TaskManager "+name)
}

// Run performs every check. Checks that depend on an unreachable server
// still run and say so.
func Run(ctx context.Context, opts Options) *Report {
	if opts.HTTP == nil {
		opts.HTTP = oauth.NewHTTPClient(10 * time.Second)
	}
	// Never follow redirects: where TaskManager sends the browser is
	// what some checks read.
	hc := *opts.HTTP
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	opts.HTTP = &hc
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.MaxSkew == 0 {
		opts.MaxSkew = 30 * time.Second
	}
	if opts.Origin == "" {
		opts.Origin = "http://localhost:6274"
	}
	if opts.Sources == nil {
		opts.Sources = map[string]string{}
	}
	d := &doctor{opts: opts, report: &Report{}, dates: map[string]time.Time{}, seenAt: map[string]time.Time{}}
	d.followMetadata(ctx)
	d.readStatus(ctx)
	d.adopt()
	if issuer := d.upstreamIssuer(); issuer != "" {
		// An OpenID provider: its metadata names the endpoints, not
		// TaskManager's fixed paths.
		m, err := upstream.Discover(ctx, issuer, d.opts.HTTP)
		if err != nil {
			d.report.Settings = d.settings()
			d.report.Checks = []*Check{bad("taskmanager", err.Error(), "Check --upstream-issuer: the provider must publish OpenID Connect or RFC 8414 metadata at that issuer.")}
			return d.report
		}
		upstream.ApplyMetadata(&d.opts.Upstream, m)
		d.openID = true
	}
	d.report.Settings = d.settings()
	d.opts.Upstream.RedirectURL = d.callback()
	up, err := upstream.New(d.opts.Upstream)
	if err != nil {
		d.report.Checks = []*Check{bad("taskmanager", err.Error(), fixTaskManagerDown)}
		return d.report
	}
	d.up = up
	for _, c := range []func(context.Context) *Check{
		d.servers, d.agreement,
		d.taskManager, d.clientCredentials, d.authorizeEndpoint, d.redirectURI, d.clientsEndpoint, d.jwks,
		d.authMetadata, d.resourceMetadata, d.audience, d.introspection, d.clocks, d.cors,
	} {
		d.report.Checks = append(d.report.Checks, c(ctx))
	}
	d.report.OK = !slices.ContainsFunc(d.report.Checks, func(c *Check) bool { return !c.OK })
	return d.report
}

func ok(name, saw string) *Check         { return &Check{Name: name, OK: true, Saw: saw} }
func notChecked(name, why string) *Check { return &Check{Name: name, Saw: "not checked: " + why} }
func bad(name, saw, fix string) *Check   { return &Check{Name: name, Saw: saw, Fix: fix} }

// Fixes from the troubleshooting guide.
const (
	fixTaskManagerDown    = "Start TaskManager, or point --taskmanager-url (TASKMANAGER_BASE_URL) at it."
	fixTaskManagerFailing = "TaskManager answers with a failure of its own: see its logs, then run tmcp doctor again."
	fixInvalidClient      = "Invalid client: check TASKMANAGER_CLIENT_ID and TASKMANAGER_CLIENT_SECRET against TaskManager (tmcp client list), or register a new client with tmcp client register."
	fixRedirect           = "Invalid redirect URI: tmcp's client at TaskManager must list %s exactly (and http://localhost:3030/callback for flow test with a pre-registered client)."
	fixEndpointPath       = "Check the endpoint setting (taskmanager.%s) against TaskManager's routes."
	fixMetadata           = "The MCP server's metadata must name the auth server's issuer (--auth-server on serve resource) and its own public URL as resource (--public-url)."
	fixIntrospection      = "Token validation will fail: give serve resource the same introspection secret as serve auth (TMCP_RESOURCE_CLIENT_SECRET, or the same state dir)."
	fixClock              = "Clocks differ: synchronize them (NTP); tokens and JWTs are checked against time."
	fixCORS               = "CORS: browser-based MCP clients need preflights from %s answered; set --allowed-origin on serve resource and --cors-origin on serve auth."
)

// send makes one request of a check and notes the server's clock.
func (d *doctor) send(ctx context.Context, c oauth.Call, server string) (*oauth.Answer, error) {
	a, err := oauth.Do(ctx, d.opts.HTTP, c)
	if err != nil {
		return nil, err
	}
	if t, err := http.ParseTime(a.Header.Get("Date")); err == nil && server != "" {
		d.dates[server], d.seenAt[server] = t, d.opts.Now()
	}
	return a, nil
}

func (d *doctor) get(ctx context.Context, u, server string) (*oauth.Answer, error) {
	return d.send(ctx, oauth.Call{URL: u, Header: http.Header{"Accept": {"*/*"}}}, server)
}

func (d *doctor) tm(path string) string { return d.up.Endpoint(path) }

func netErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func (d *doctor) taskManager(ctx context.Context) *Check {
	const name = "taskmanager"
	start := d.opts.Now()
	resp, err := d.get(ctx, d.opts.Upstream.BaseURL, "taskmanager")
	if err != nil {
		d.tmDown = true
		return bad(name, "cannot reach "+d.opts.Upstream.BaseURL+": "+netErr(err), fixTaskManagerDown)
	}
	return ok(name, fmt.Sprintf("%s answers (HTTP %d, %s)", d.opts.Upstream.BaseURL, resp.Status, ui.Duration(time.Since(start))))
}

// clientCredentials redeems a bogus code: invalid_grant proves the client
// authenticated, invalid_client that it did not.
func (d *doctor) clientCredentials(ctx context.Context) *Check {
	const name = "client secret"
	if d.tmDown {
		return notChecked(name, "TaskManager is unreachable")
	}
	if d.authStatus != nil && d.authStatus.Upstream.ClientID == d.opts.Upstream.ClientID {
		c := d.authStatus.Upstream.Client
		if src, given := d.given(SettingClientSecret); given && d.opts.Upstream.ClientSecret != "" {
			if check := d.givenClientSecret(ctx, src, c); check != nil {
				return check
			}
		}
		switch {
		case c.OK:
			d.clientOK = true
			return ok(name, "serve auth's own check: "+c.Detail)
		case c.Refused:
			return bad(name, "serve auth's own check: "+c.Detail, fixInvalidClient)
		}
		return bad(name, "serve auth could not check its client: "+c.Detail, fixTaskManagerDown)
	}
	if d.opts.Upstream.ClientID == "" {
		return bad(name, "no client id configured", fixInvalidClient)
	}
	// The same check serve auth makes at start.
	err := d.up.CheckClient(ctx)
	switch {
	case err == nil:
		d.clientOK = true
		return ok(name, fmt.Sprintf("client %s authenticates (a code that cannot exist was refused as a code)", d.opts.Upstream.ClientID))
	case errors.Is(err, upstream.ErrClientRefused):
		return bad(name, fmt.Sprintf("client %s: %v", d.opts.Upstream.ClientID, err), fixInvalidClient)
	case errors.Is(err, oauth.ErrUnreachable):
		return bad(name, "token endpoint unreachable: "+netErr(err), fixTaskManagerDown)
	case errors.Is(err, upstream.ErrProviderFailing):
		return bad(name, "not checked: "+err.Error(), fixTaskManagerFailing)
	}
	return bad(name, err.Error(), fmt.Sprintf(fixEndpointPath, "token_endpoint"))
}

// givenClientSecret tests the client secret given to doctor (from src)
// itself, next to serve auth's own check c: the two may differ, and a
// person who typed a secret wants to know whether that one works. nil:
// the given secret could not be tested; the caller goes on with c.
func (d *doctor) givenClientSecret(ctx context.Context, src string, c status.Check) *Check {
	const name = "client secret"
	err := d.up.CheckClient(ctx)
	mine := fmt.Sprintf("the secret you gave (%s) for client %s", src, d.opts.Upstream.ClientID)
	switch refused := errors.Is(err, upstream.ErrClientRefused); {
	case err == nil && c.OK:
		d.clientOK = true
		return ok(name, mine+" authenticates, and so does serve auth's own")
	case refused && c.OK:
		d.clientOK = true
		return bad(name, mine+" is refused; the running server's own is fine",
			"Give doctor the secret serve auth runs with, or none (doctor then trusts serve auth's own check); to change the secret, restart serve auth with the new one.")
	case err == nil && c.Refused:
		return bad(name, mine+" authenticates; the running server's own is refused",
			"Restart serve auth with the secret you gave doctor (--client-secret / TASKMANAGER_CLIENT_SECRET).")
	case refused:
		return bad(name, mine+" is refused, and so is serve auth's own: "+c.Detail, fixInvalidClient)
	}
	return nil
}

func (d *doctor) callback() string {
	return strings.TrimSuffix(d.opts.AuthServer, "/") + "/oauth/callback"
}

// authorizeRequest asks TaskManager to start a sign-in for tmcp's client
// and callback, without following the answer.
func (d *doctor) authorizeRequest(ctx context.Context) (*oauth.Answer, error) {
	q := url.Values{"response_type": {"code"}, "client_id": {d.opts.Upstream.ClientID}, "redirect_uri": {d.callback()},
		"state": {"tmcp-doctor"}, "scope": {"read"}, "code_challenge": {oauth.S256Challenge(secrets.Random(32))},
		"code_challenge_method": {oauth.MethodS256}}
	return d.get(ctx, d.tm(d.opts.Upstream.AuthorizeEndpoint)+"?"+q.Encode(), "taskmanager")
}

func (d *doctor) authorizeEndpoint(ctx context.Context) *Check {
	const name = "authorize"
	if d.tmDown {
		return notChecked(name, "TaskManager is unreachable")
	}
	resp, err := d.authorizeRequest(ctx)
	switch {
	case err != nil:
		return bad(name, "authorize endpoint unreachable: "+netErr(err), fixTaskManagerDown)
	case resp.Status == http.StatusNotFound:
		return bad(name, "the authorize endpoint answered 404", fmt.Sprintf(fixEndpointPath, "authorize_endpoint"))
	case resp.Status >= 500:
		return bad(name, fmt.Sprintf("the authorize endpoint answered %d", resp.Status), fixTaskManagerDown)
	}
	return ok(name, fmt.Sprintf("answers (HTTP %d)", resp.Status))
}

// redirectURI reads whether TaskManager accepts the auth server's callback
// for tmcp's client: from the client list when a session cookie is given,
// else from how TaskManager answers an authorize request.
func (d *doctor) redirectURI(ctx context.Context) *Check {
	const name = "redirect uri"
	if d.tmDown {
		return notChecked(name, "TaskManager is unreachable")
	}
	want := d.callback()
	fix := fmt.Sprintf(fixRedirect, want)
	if d.opts.Session.Value != "" && !d.openID {
		list, err := d.up.ListClients(ctx, d.opts.Session)
		if err != nil {
			return bad(name, err.Error(), "")
		}
		for _, cl := range list {
			if cl.ClientID == d.opts.Upstream.ClientID {
				if slices.Contains(cl.RedirectURIs, want) {
					return ok(name, "TaskManager lists "+want+" for "+cl.ClientID)
				}
				return bad(name, fmt.Sprintf("TaskManager lists %s for %s, not %s", strings.Join(cl.RedirectURIs, ", "), cl.ClientID, want), fix)
			}
		}
		return bad(name, "your TaskManager account has no client "+d.opts.Upstream.ClientID, fixInvalidClient)
	}
	resp, err := d.authorizeRequest(ctx)
	if err != nil {
		return bad(name, "authorize endpoint unreachable: "+netErr(err), fixTaskManagerDown)
	}
	loc, _ := url.Parse(resp.Header.Get("Location"))
	switch {
	case resp.Status/100 == 3 && loc != nil && strings.HasPrefix(loc.String(), want):
		if loc.Query().Get("error") != "" && loc.Query().Get("error") != oauth.CodeAccessDenied {
			return ok(name, "TaskManager sends errors to "+want+", so it accepts it ("+loc.Query().Get("error")+")")
		}
		return ok(name, "TaskManager redirects to "+want)
	case resp.Status/100 == 3 || resp.Status == http.StatusOK:
		return ok(name, fmt.Sprintf("TaskManager accepted %s (HTTP %d, to its login)", want, resp.Status))
	case resp.Status == http.StatusBadRequest && d.clientOK:
		return bad(name, fmt.Sprintf("TaskManager refused an authorize request for %s (HTTP 400) although the client authenticates", want), fix)
	default:
		return bad(name, fmt.Sprintf("TaskManager refused an authorize request for %s (HTTP %d)", want, resp.Status), fix)
	}
}

// endpoint checks one TaskManager endpoint, asked without credentials:
// judge says whether the endpoint answered as it should, and what it saw
// (on a wrong answer, what follows "URL answered STATUS"); a wrong answer
// points at the endpoint's setting (taskmanager.<setting>).
func (d *doctor) endpoint(ctx context.Context, name, path, setting string, judge func(*oauth.Answer) (saw string, ok bool)) *Check {
	if d.tmDown {
		return notChecked(name, "TaskManager is unreachable")
	}
	u := d.tm(path)
	resp, err := d.get(ctx, u, "taskmanager")
	if err != nil {
		return bad(name, "unreachable: "+netErr(err), fixTaskManagerDown)
	}
	saw, good := judge(resp)
	if good {
		return ok(name, saw)
	}
	return bad(name, fmt.Sprintf("%s answered %d%s", u, resp.Status, saw), fmt.Sprintf(fixEndpointPath, setting))
}

// clientsEndpoint: without a session the clients API refuses (401, 403)
// or lists (200); anything else is not the clients API.
func (d *doctor) clientsEndpoint(ctx context.Context) *Check {
	if d.openID {
		return notTaskManager("clients api")
	}
	return d.endpoint(ctx, "clients api", d.opts.Upstream.ClientsEndpoint, "clients_endpoint", func(a *oauth.Answer) (string, bool) {
		switch a.Status {
		case http.StatusUnauthorized, http.StatusForbidden, http.StatusOK:
			return fmt.Sprintf("answers (HTTP %d without a session)", a.Status), true
		}
		return "", false
	})
}

func (d *doctor) jwks(ctx context.Context) *Check {
	return d.endpoint(ctx, "jwks", d.opts.Upstream.JWKSEndpoint, "jwks_endpoint", func(a *oauth.Answer) (string, bool) {
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
				Alg string `json:"alg"`
			} `json:"keys"`
		}
		if a.Status != http.StatusOK || json.Unmarshal(a.Body, &set) != nil || set.Keys == nil {
			return " without a JSON key set", false
		}
		var kids []string
		for _, k := range set.Keys {
			kids = append(kids, k.Kid+" "+k.Alg)
		}
		return fmt.Sprintf("%d keys (%s)", len(set.Keys), strings.Join(kids, ", ")), true
	})
}

func (d *doctor) authMetadata(ctx context.Context) *Check {
	const name = "auth metadata"
	urls, err := oauth.MetadataURLs(d.opts.AuthServer)
	if err != nil {
		return bad(name, err.Error(), "Set --auth-server to the auth server's public URL.")
	}
	u := urls[0]
	resp, err := d.get(ctx, u, "auth")
	if err != nil {
		d.authDown = true
		return bad(name, "cannot reach the auth server: "+netErr(err), "Start the auth server (tmcp serve auth), or check its URL.")
	}
	var m oauth.ServerMetadata
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &m) != nil {
		return bad(name, fmt.Sprintf("%s answered %d", u, resp.Status), "The auth server must publish RFC 8414 metadata.")
	}
	if m.Issuer != strings.TrimSuffix(d.opts.AuthServer, "/") {
		return bad(name, fmt.Sprintf("the metadata names issuer %s, not %s", m.Issuer, d.opts.AuthServer), "Set --issuer on serve auth to the URL clients use.")
	}
	d.meta = &m
	return ok(name, "issuer "+m.Issuer+", S256, iss parameter")
}

func (d *doctor) resourceMetadata(ctx context.Context) *Check {
	const name = "resource meta"
	u, err := url.Parse(d.opts.MCPServer)
	if err != nil || !u.IsAbs() {
		return bad(name, "the MCP server URL is not a URL", "")
	}
	prm := *u
	prm.Path = strings.TrimSuffix(oauth.WellKnownProtectedResource+u.Path, "/")
	resp, err := d.get(ctx, prm.String(), "resource")
	if err != nil {
		return bad(name, "cannot reach the MCP server: "+netErr(err), "Start the MCP server (tmcp serve resource), or check its URL.")
	}
	var m oauth.ProtectedResourceMetadata
	if resp.Status != http.StatusOK || json.Unmarshal(resp.Body, &m) != nil {
		return bad(name, fmt.Sprintf("%s answered %d", prm.String(), resp.Status), fixMetadata)
	}
	var problems []string
	if !oauth.SameResource(m.Resource, d.opts.MCPServer) {
		problems = append(problems, fmt.Sprintf("resource is %s, not %s", m.Resource, d.opts.MCPServer))
	}
	if !slices.Contains(m.AuthorizationServers, strings.TrimSuffix(d.opts.AuthServer, "/")) {
		problems = append(problems, fmt.Sprintf("authorization_servers %v does not name %s", m.AuthorizationServers, d.opts.AuthServer))
	}
	if len(problems) > 0 {
		return bad(name, strings.Join(problems, "; "), fixMetadata)
	}
	return ok(name, "resource "+m.Resource+" → "+strings.Join(m.AuthorizationServers, ", "))
}

func (d *doctor) introspection(ctx context.Context) *Check {
	const name = "introspection"
	if c := d.mcpStatus; c != nil {
		if src, given := d.given(SettingIntrospectionSecret); given && !d.authDown {
			mine := fmt.Sprintf("the introspection secret you gave (%s) for %s", src, d.opts.ResourceClientID)
			accepted, saw, err := d.probeIntrospection(ctx)
			switch {
			case err != nil:
			case accepted && c.Introspection.OK:
				return ok(name, mine+" authenticates, and so does the MCP server's own")
			case !accepted && c.Introspection.OK:
				return bad(name, mine+" is refused ("+saw+"); the running server's own is fine",
					"Give doctor the introspection secret serve resource runs with, or none (doctor then trusts the MCP server's own check).")
			case accepted && c.Introspection.Refused:
				return bad(name, mine+" authenticates; the running server's own is refused", "Restart serve resource with the introspection secret you gave doctor (TMCP_RESOURCE_CLIENT_SECRET).")
			case !accepted && c.Introspection.Refused:
				return bad(name, mine+" is refused, and so is the MCP server's own", fixIntrospection)
			}
		}
		switch {
		case c.Introspection.OK:
			return ok(name, "the MCP server's own check: "+c.Introspection.Detail)
		case c.Introspection.Refused:
			return bad(name, "the auth server refuses the MCP server's introspection credentials ("+c.IntrospectionClientID+")", fixIntrospection)
		}
		return bad(name, "the MCP server cannot ask the auth server: "+c.Introspection.Detail, "Start the auth server, or point --auth-server on serve resource at it.")
	}
	if d.authDown {
		return notChecked(name, "the auth server is unreachable")
	}
	accepted, saw, err := d.probeIntrospection(ctx)
	switch {
	case err != nil:
		return bad(name, "cannot reach the auth server: "+netErr(err), "Start the auth server (tmcp serve auth).")
	case accepted:
		return ok(name, "resource server "+d.opts.ResourceClientID+" authenticates")
	}
	return bad(name, saw, fixIntrospection)
}

// probeIntrospection introspects a token that cannot exist with the
// introspection credentials doctor has: "not active" proves they
// authenticate.
func (d *doctor) probeIntrospection(ctx context.Context) (accepted bool, saw string, err error) {
	endpoint := strings.TrimSuffix(d.opts.AuthServer, "/") + "/introspect"
	if d.meta != nil && d.meta.IntrospectionEndpoint != "" {
		endpoint = d.meta.IntrospectionEndpoint
	}
	resp, err := d.send(ctx, oauth.Call{URL: endpoint, Form: url.Values{"token": {"tmcp-doctor-probe"}},
		Client: oauth.ClientCredentials{ID: d.opts.ResourceClientID, Secret: d.opts.ResourceSecret, Method: oauth.AuthMethodBasic}}, "auth")
	if err != nil {
		return false, "", err
	}
	var in struct {
		Active *bool `json:"active"`
	}
	if resp.Status == http.StatusOK && json.Unmarshal(resp.Body, &in) == nil && in.Active != nil && !*in.Active {
		return true, "", nil
	}
	return false, fmt.Sprintf("introspection as %s answered %d", d.opts.ResourceClientID, resp.Status), nil
}

// clocks compares each server's Date header with this machine's clock.
func (d *doctor) clocks(context.Context) *Check {
	const name = "clock skew"
	if len(d.dates) == 0 {
		return notChecked(name, "no server answered with a Date header")
	}
	var parts []string
	worst := time.Duration(0)
	for _, server := range []string{"taskmanager", "auth", "resource"} {
		t, okd := d.dates[server]
		if !okd {
			continue
		}
		skew := t.Sub(d.seenAt[server].Truncate(time.Second))
		if skew < 0 {
			skew = -skew
		}
		worst = max(worst, skew)
		parts = append(parts, server+" "+skewText(skew))
	}
	saw := strings.Join(parts, ", ")
	if worst > d.opts.MaxSkew {
		return bad(name, saw+" (more than "+ui.Duration(d.opts.MaxSkew)+")", fixClock)
	}
	return ok(name, saw)
}

func (d *doctor) cors(ctx context.Context) *Check {
	const name = "cors"
	targets := []string{d.opts.MCPServer}
	if d.meta != nil {
		targets = append(targets, d.meta.TokenEndpoint)
	}
	for _, u := range targets {
		resp, err := d.send(ctx, oauth.Call{Method: http.MethodOptions, URL: u, Header: http.Header{"Origin": {d.opts.Origin},
			"Access-Control-Request-Method": {"POST"}, "Access-Control-Request-Headers": {"authorization, content-type"}}}, "")
		if err != nil {
			return bad(name, "preflight to "+u+" failed: "+netErr(err), fmt.Sprintf(fixCORS, d.opts.Origin))
		}
		if got := resp.Header.Get("Access-Control-Allow-Origin"); got != d.opts.Origin && got != "*" {
			return bad(name, fmt.Sprintf("a preflight from %s to %s got HTTP %d without Access-Control-Allow-Origin", d.opts.Origin, u, resp.Status), fmt.Sprintf(fixCORS, d.opts.Origin))
		}
	}
	return ok(name, "preflights from "+d.opts.Origin+" allowed by the MCP server and the token endpoint")
}

// skewText is a clock difference; the Date header counts whole seconds.
func skewText(d time.Duration) string {
	if d == 0 {
		return "0s"
	}
	return ui.Duration(d)
}
