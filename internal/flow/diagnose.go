package flow

import (
	"context"
	"fmt"
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
	if r.access == "" || !(strings.Contains(m, "401") || strings.Contains(m, "503") || strings.Contains(m, "unavailable")) {
		return ""
	}
	st, ok := status.ReadMCP(ctx, r.opts.HTTP, r.opts.Server, oauth.ClientCredentials{})
	switch {
	case !ok:
		return ""
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
