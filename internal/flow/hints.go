package flow

import "strings"

// The troubleshooting guide of the original design, keyed by what failed.
const (
	hintInvalidClient = "Invalid client: make sure the client is registered (run without --client-id to register one), that client_id and client_secret are right, and that its redirect URIs match exactly."
	hintRedirect      = "Invalid redirect URI: the client's registration must include http://localhost:%d/callback, and tmcp's client at TaskManager must list the auth server's /oauth/callback (for example http://localhost:9000/oauth/callback)."
	hintValidation    = "Token validation failed: check that the resource server reaches the auth server's /introspect with its own credentials (the same resource secret on both), that the token's resource is the MCP URL, and that clocks are synchronized."
	hintCORS          = "CORS: browser-based MCP clients need the MCP server and the auth server to answer preflight requests from their origin; set --allowed-origin on serve resource."
	hintUnreachable   = "Is the server running? Start the servers (tmcp serve auth, tmcp serve resource; tmcp dev for a local stack), or check the URL."
	hintDiscovery     = "The MCP server must answer 401 with WWW-Authenticate: Bearer resource_metadata=\"…\" and publish RFC 9728 metadata naming its authorization server."
	hintTimeout       = "Nobody finished the sign-in in the browser in time. Open the printed URL, log in and approve; or raise --timeout."
	hintTaskManager   = "TaskManager failed during the sign-in: check that it is running and that tmcp's client id, secret and redirect URI at TaskManager are right (tmcp client list)."
)

// hintFor picks the likely cause of an error message.
func hintFor(step, msg string) string {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "invalid_client"):
		return hintInvalidClient
	case strings.Contains(m, "redirect uri") || strings.Contains(m, "redirect_uri") || strings.Contains(m, "invalid_redirect_uri"):
		return hintRedirect
	case unreachable(m):
		return hintUnreachable
	case strings.Contains(m, "timed out waiting for the browser"):
		return hintTimeout
	case strings.Contains(m, "temporarily_unavailable") || strings.Contains(m, "server_error"):
		return hintTaskManager
	case step == stepProbe || step == stepPRM || step == stepASMeta:
		return hintDiscovery
	case step == stepCORS:
		return hintCORS
	case strings.Contains(m, "401") || strings.Contains(m, "invalid_token"):
		return hintValidation
	}
	return ""
}
