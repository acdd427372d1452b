package flow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

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
		// Optional: only browser-based MCP clients need it.
		return "", errWarn{fmt.Sprintf("a preflight from %s got %d without Access-Control-Allow-Origin: browser-based MCP clients cannot call this server", origin, resp.Status)}
	}
	return "preflight from " + origin + " allowed", nil
}

func (r *runner) mcpPost(ctx context.Context, token, body string) (*oauth.Answer, error) {
	return r.send(ctx, oauth.Call{URL: r.opts.Server, JSON: json.RawMessage(body), Bearer: token, Header: http.Header{
		"Accept": {"application/json, text/event-stream"}, "Mcp-Protocol-Version": {"2025-11-25"}}})
}
