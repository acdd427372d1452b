package doctor

import (
	"context"
	"fmt"
	"net/url"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/status"
)

// Setting is one value doctor checked with, and where it came from.
type Setting struct {
	Name   string `json:"name"`
	Value  string `json:"value"`
	Source string `json:"source"`
}

// The settings doctor reports, by name.
const (
	SettingTaskManager = "taskmanager"
	SettingClientID    = "client id"
	SettingAuthServer  = "auth server"
	SettingMCPServer   = "mcp server"
	// Where the secrets came from: never printed with their values, but
	// a secret given to doctor is tested itself (not only the running
	// servers' own).
	SettingClientSecret        = "client secret"
	SettingIntrospectionSecret = "introspection secret"
)

// given reports whether the setting name was given to doctor (flag,
// environment, config file) rather than left at its default, and where.
func (d *doctor) given(name string) (string, bool) {
	src := d.source(name)
	return src, src != "default"
}

const sourceRunning = "running auth server"

// readStatus asks both running servers what they run with. A server
// that does not answer is left nil: the other checks say why.
func (d *doctor) readStatus(ctx context.Context) {
	var creds oauth.ClientCredentials
	if d.opts.ResourceSecret != "" {
		creds = oauth.ClientCredentials{ID: d.opts.ResourceClientID, Secret: d.opts.ResourceSecret, Method: oauth.AuthMethodBasic}
	}
	if st, ok := status.ReadAuth(ctx, d.opts.HTTP, d.opts.AuthServer, creds); ok {
		d.authStatus = st
	}
	if st, ok := status.ReadMCP(ctx, d.opts.HTTP, d.opts.MCPServer, creds); ok {
		d.mcpStatus = st
	}
}

// upstreamIssuer is the OpenID provider the upstream is, if any: from
// doctor's settings (--upstream-issuer), else from the running auth
// server.
func (d *doctor) upstreamIssuer() string {
	if d.opts.Upstream.Issuer != "" {
		return d.opts.Upstream.Issuer
	}
	if d.authStatus != nil {
		return d.authStatus.Upstream.Issuer
	}
	return ""
}

// followMetadata finds the auth server the way an MCP client does when
// doctor was told only the MCP server: its RFC 9728 metadata names it.
func (d *doctor) followMetadata(ctx context.Context) {
	if d.source(SettingAuthServer) != "default" || d.source(SettingMCPServer) == "default" {
		return
	}
	u, err := url.Parse(d.opts.MCPServer)
	if err != nil || !u.IsAbs() {
		return
	}
	prm := *u
	prm.Path = strings.TrimSuffix(oauth.WellKnownProtectedResource+u.Path, "/")
	var m oauth.ProtectedResourceMetadata
	if oauth.Fetch(ctx, d.opts.HTTP, oauth.Call{URL: prm.String()}, &m) == nil && len(m.AuthorizationServers) > 0 {
		d.opts.AuthServer = strings.TrimSuffix(m.AuthorizationServers[0], "/")
		d.opts.Sources[SettingAuthServer] = "the MCP server's metadata"
	}
}

// adopt takes from the running auth server what doctor's settings leave
// at their defaults: the servers know what they run with, doctor's shell
// may not (a secret only in the servers' environment).
func (d *doctor) adopt() {
	if d.authStatus == nil {
		return
	}
	up := d.authStatus.Upstream
	if d.source(SettingTaskManager) == "default" && up.BaseURL != "" {
		d.opts.Upstream.BaseURL = up.BaseURL
		d.opts.Sources[SettingTaskManager] = sourceRunning
	}
	if d.opts.Upstream.ClientID == "" || d.source(SettingClientID) == "default" {
		d.opts.Upstream.ClientID = up.ClientID
		d.opts.Sources[SettingClientID] = sourceRunning
	}
}

func (d *doctor) source(name string) string {
	if s, ok := d.opts.Sources[name]; ok {
		return s
	}
	return "default"
}

func (d *doctor) settings() []Setting {
	return []Setting{
		{SettingTaskManager, d.opts.Upstream.BaseURL, d.source(SettingTaskManager)},
		{SettingClientID, d.opts.Upstream.ClientID, d.source(SettingClientID)},
		{SettingAuthServer, d.opts.AuthServer, d.source(SettingAuthServer)},
		{SettingMCPServer, d.opts.MCPServer, d.source(SettingMCPServer)},
	}
}

// servers reports whether both servers said what they run with.
func (d *doctor) servers(context.Context) *Check {
	const name = "servers"
	var missing []string
	if d.authStatus == nil {
		missing = append(missing, "the auth server at "+d.opts.AuthServer)
	}
	if d.mcpStatus == nil {
		missing = append(missing, "the MCP server at "+d.opts.MCPServer)
	}
	if len(missing) > 0 && d.source(SettingMCPServer) == "default" && d.source(SettingAuthServer) == "default" {
		// Nothing named the servers: the default ports were a guess.
		return bad(name, "cannot find your servers: no tmcp dev runs (its state directory has no dev.json), and nothing answers at the default "+
			d.opts.MCPServer+" and "+d.opts.AuthServer,
			"Pass --mcp-server with your MCP server's URL (doctor follows its metadata to the auth server), or start tmcp dev.")
	}
	if len(missing) > 0 {
		return bad(name, strings.Join(missing, " and ")+" did not answer "+status.Path,
			"Start them (tmcp dev, or tmcp serve auth and tmcp serve resource), or point --auth-server and --mcp-server at them; "+
				"from another machine, give doctor the introspection secret (TMCP_RESOURCE_CLIENT_SECRET).")
	}
	if b := d.mcpStatus.Backend; b != nil && !b.OK {
		return bad(name, "the MCP server is up, but "+b.Detail,
			"Start your MCP server, or point the gateway at it: --proxy on serve resource (tmcp dev --proxy), or the command after --.")
	}
	return ok(name, fmt.Sprintf("auth server%s with client %s at %s · MCP server%s serving %s%s",
		versionOf(d.authStatus.Version), d.authStatus.Upstream.ClientID, d.authStatus.Upstream.BaseURL, versionOf(d.mcpStatus.Version), d.mcpStatus.Serves,
		d.scopeAdvice()))
}

// scopeAdvice says what a first sign-in gets and, when that is not every
// scope, which known clients need more: they do not step up after a 403.
func (d *doctor) scopeAdvice() string {
	def, all := d.authStatus.DefaultScope, d.authStatus.ScopesSupported
	if len(def) == 0 {
		return ""
	}
	s := fmt.Sprintf(" · first sign-ins get %q", oauth.JoinScope(def))
	if len(all) > 0 && !oauth.ScopeSubset(all, def) {
		s += fmt.Sprintf(" (%s do not step up: they need TASKMANAGER_MCP_SCOPE=%q)", strings.Join(noStepUp, ", "), oauth.JoinScope(all))
	}
	return s
}

// noStepUp are the clients known not to step up after a 403 (see the
// clients table in docs/interoperability.md).
var noStepUp = []string{"TypeScript SDK 1.32.2", "mcp-remote", "mcp-go's client", "@ai-sdk/mcp", "mcporter"}

// agreement compares doctor's explicit settings with what the servers
// run with, and the servers with each other.
func (d *doctor) agreement(context.Context) *Check {
	const name = "settings"
	if d.authStatus == nil || d.mcpStatus == nil {
		return notChecked(name, "a server did not say what it runs with")
	}
	var problems, fixes []string
	if up := d.authStatus.Upstream; up.ClientID != d.opts.Upstream.ClientID {
		problems = append(problems, fmt.Sprintf("serve auth runs with client %s, your settings (%s) say %s",
			up.ClientID, d.source(SettingClientID), d.opts.Upstream.ClientID))
		fixes = append(fixes, "restart serve auth so it reads the new client (after client register --save it still runs with the old one)")
	}
	if up := d.authStatus.Upstream; strings.TrimSuffix(up.BaseURL, "/") != strings.TrimSuffix(d.opts.Upstream.BaseURL, "/") {
		problems = append(problems, fmt.Sprintf("serve auth uses TaskManager %s, your settings (%s) say %s",
			up.BaseURL, d.source(SettingTaskManager), d.opts.Upstream.BaseURL))
		fixes = append(fixes, "give serve auth and doctor the same --taskmanager-url (TASKMANAGER_BASE_URL)")
	}
	if strings.TrimSuffix(d.mcpStatus.AuthServer, "/") != strings.TrimSuffix(d.authStatus.Issuer, "/") {
		problems = append(problems, fmt.Sprintf("the MCP server asks %s, the auth server is %s", d.mcpStatus.AuthServer, d.authStatus.Issuer))
		fixes = append(fixes, "set --auth-server on serve resource to the auth server's issuer")
	}
	if len(problems) > 0 {
		return bad(name, strings.Join(problems, "; "), capitalize(strings.Join(fixes, "; "))+".")
	}
	return ok(name, "doctor's settings agree with the running servers")
}

// audience checks that the auth server issues tokens for the MCP server
// that is running: otherwise every token is for another resource and the
// MCP server answers 401.
func (d *doctor) audience(context.Context) *Check {
	const name = "tokens for mcp"
	if d.authStatus == nil || d.mcpStatus == nil {
		return notChecked(name, "a server did not say what it runs with")
	}
	var issued []string
	for _, r := range d.authStatus.Resources {
		if oauth.SameResource(r.Resource, d.mcpStatus.Resource) {
			if r.IntrospectionClientID != d.mcpStatus.IntrospectionClientID {
				return bad(name, fmt.Sprintf("the auth server expects %s to introspect as %s, it introspects as %s",
					r.Resource, r.IntrospectionClientID, d.mcpStatus.IntrospectionClientID),
					"Give serve resource the introspection client id serve auth lists for it (--introspection-client-id / TMCP_RESOURCE_CLIENT_ID).")
			}
			return ok(name, "the auth server issues tokens for "+d.mcpStatus.Resource)
		}
		issued = append(issued, r.Resource)
	}
	return bad(name, fmt.Sprintf("the auth server issues tokens only for %s, not for the running MCP server %s", strings.Join(issued, ", "), d.mcpStatus.Resource),
		"Tell serve auth about the MCP server: --resource "+d.mcpStatus.Resource+" (or MCP_RESOURCE_PORT on serve auth too, or auth.resource_servers in its config file).")
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// Setting is the value of the setting name the checks used.
func (r *Report) Setting(name string) string {
	for _, s := range r.Settings {
		if s.Name == name {
			return s.Value
		}
	}
	return ""
}

func versionOf(v string) string {
	if v == "" {
		return ""
	}
	return " " + v
}
