package flow

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/status"
)

// diagnose names the setting to change for a failed step, asking the
// running servers (GET /status, answered to this machine) where that
// tells more than the error; "" leaves it to hintFor.
func (r *runner) diagnose(ctx context.Context, step, msg string) string {
	m := strings.ToLower(msg)
	resource := r.prm.Resource
	if resource == "" {
		resource = r.opts.Server
	}
	switch {
	case msg == errUnprotected.Error():
		return fmt.Sprintf("Anyone who reaches %s can call its tools. Put tmcp in front of it (tmcp serve resource --proxy %s, or tmcp dev --proxy %s) "+
			"and test tmcp's URL; or pass --allow-unprotected if it is meant to be open.", r.opts.Server, r.opts.Server, r.opts.Server)
	case step == stepPRM && r.prm.Resource != "" && sameButLoopbackName(r.prm.Resource, r.opts.Server):
		return fmt.Sprintf("The MCP server calls itself %s, and you asked for %s: MCP clients (both TypeScript SDKs too) refuse a resource "+
			"that is not the URL they were given, rightly. Use --server %s, or make the server publish the URL clients use: "+
			"--public-url %s on serve resource (--resource-public-url on tmcp dev).", r.prm.Resource, r.opts.Server, r.prm.Resource, r.opts.Server)
	case step == stepInit && r.access == "" && !unreachable(m):
		return r.notMCP(ctx)
	case strings.Contains(m, "invalid_target"):
		return fmt.Sprintf("The auth server issues no tokens for %s: tell serve auth about this MCP server with --resource %s "+
			"(or MCP_RESOURCE_PORT on serve auth, or auth.resource_servers in its config file).", resource, resource)
	case unreachable(m) && (step == stepProbe || step == stepPRM || step == stepInit && r.access == ""):
		if r.opts.Dev {
			return "Is tmcp dev still running? Start everything with: tmcp dev"
		}
		return fmt.Sprintf("Nothing answers at %s: start the MCP server (tmcp serve resource), or point --server (MCP_SERVER_PORT) at it.", r.opts.Server)
	case unreachable(m) && (step == stepASMeta || step == stepRegister || step == stepToken):
		return fmt.Sprintf("The auth server the MCP server names (%s) does not answer: start it (tmcp serve auth), or fix --auth-server on serve resource.",
			firstOr(r.prm.AuthorizationServers, "?"))
	}
	// A 401 or 503 after a token was issued: the MCP server's own view
	// of the auth server says which.
	if r.access == "" || !(strings.Contains(m, "401") || strings.Contains(m, "50") || strings.Contains(m, "unavailable") || strings.Contains(m, "gateway")) {
		return ""
	}
	st, ok := status.ReadMCP(ctx, r.opts.HTTP, r.opts.Server, oauth.ClientCredentials{})
	switch {
	case !ok:
		return ""
	case st.Backend != nil && !st.Backend.OK:
		return "Signing in worked, but " + st.Backend.Detail + ": start your MCP server, or point the gateway at it " +
			"(--proxy on serve resource or tmcp dev, or the command after --)."
	case st.Introspection.Refused:
		return "The auth server refuses the MCP server's introspection credentials (" + st.IntrospectionClientID + "): give serve auth and " +
			"serve resource the same TMCP_RESOURCE_CLIENT_SECRET (or the same state directory), and restart the one you changed."
	case !st.Introspection.OK:
		return fmt.Sprintf("The MCP server cannot ask its auth server %s (%s): start serve auth, or fix --auth-server on serve resource.",
			st.AuthServer, st.Introspection.Detail)
	case !oauth.SameResource(st.Resource, resource):
		return fmt.Sprintf("The MCP server runs as %s, the token is for %s: set --public-url on serve resource to the URL clients use.", st.Resource, resource)
	}
	return ""
}

// notMCP explains an endpoint that refused initialize without asking for
// a token: not an MCP endpoint. When it is tmcp's auth server, it names
// the MCP server that auth server issues tokens for.
func (r *runner) notMCP(ctx context.Context) string {
	fix := fmt.Sprintf("%s refused initialize without asking for a token (no 401): it is not an MCP endpoint, or one of the legacy SSE transport (then add --transport sse). "+
		"Point --server at the MCP endpoint: tmcp serve resource serves it at /mcp.", r.opts.Server)
	u, err := url.Parse(r.opts.Server)
	if err != nil {
		return fix
	}
	if st, ok := status.ReadAuth(ctx, r.opts.HTTP, u.Scheme+"://"+u.Host, oauth.ClientCredentials{}); ok && len(st.Resources) > 0 {
		return fmt.Sprintf("%s is tmcp's auth server, not the MCP server: use --server %s.", r.opts.Server, st.Resources[0].Resource)
	}
	return fix
}

// sameButLoopbackName reports whether two URLs differ only in which name
// of this machine they use (localhost, 127.0.0.1, [::1]).
func sameButLoopbackName(a, b string) bool {
	ua, err1 := url.Parse(a)
	ub, err2 := url.Parse(b)
	if err1 != nil || err2 != nil || ua.Hostname() == ub.Hostname() {
		return false
	}
	if !oauth.IsLoopbackHost(ua.Hostname()) || !oauth.IsLoopbackHost(ub.Hostname()) {
		return false
	}
	return ua.Scheme == ub.Scheme && ua.Port() == ub.Port() && strings.TrimSuffix(ua.Path, "/") == strings.TrimSuffix(ub.Path, "/")
}

func unreachable(m string) bool {
	return strings.Contains(m, "connection refused") || strings.Contains(m, "no such host") || strings.Contains(m, "unreachable")
}

func firstOr(list []string, or string) string {
	if len(list) > 0 {
		return list[0]
	}
	return or
}

// watchSignIn polls the auth server's /status while the browser is out
// and ends the wait when it reports this client's sign-in failed after
// since: the browser then shows an error page, and no callback comes.
// It gets the issuer and client id as values: the run goes on changing
// the runner's fields while it may still be polling.
func (r *runner) watchSignIn(ctx context.Context, issuer, clientID string, since time.Time, fail context.CancelCauseFunc) {
	httpx.Every(ctx, time.Second, func(ctx context.Context) {
		st, ok := status.ReadAuth(ctx, r.opts.HTTP, issuer, oauth.ClientCredentials{})
		if !ok {
			return
		}
		if f := st.LastSignInFailure; f != nil && f.ClientID == clientID && f.At.After(since) {
			fail(fmt.Errorf("the auth server reports the sign-in failed: %s: %s", f.Error, f.Detail)) // ends ctx, and the watch
		}
	})
}
