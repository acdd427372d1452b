// Package status is what the running servers say about themselves at
// GET /status, for `tmcp doctor`: the settings they actually run with
// (never a secret) and whether their own checks of the servers they
// depend on pass now. The answer goes to a request from this machine
// (loopback, not forwarded by a proxy) or to one that authenticates with
// introspection credentials the server knows.
package status

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// Path is where both servers answer.
const Path = "/status"

// Check is the outcome of a server's own check: OK, or what went wrong.
type Check struct {
	OK     bool   `json:"ok"`
	Detail string `json:"detail"`
	// Refused marks a definite refusal of the server's credentials, as
	// opposed to a server that could not be asked.
	Refused bool      `json:"refused,omitempty"`
	At      time.Time `json:"at"`
}

// Auth is serve auth's status.
type Auth struct {
	Server  string `json:"server"` // "auth"
	Version string `json:"version"`
	Issuer  string `json:"issuer"`
	// Upstream is the provider users sign in at, and tmcp's client there.
	Upstream struct {
		BaseURL  string `json:"base_url"`
		Issuer   string `json:"issuer,omitempty"`
		ClientID string `json:"client_id"`
		// Client is the check that the provider accepts the client.
		Client Check `json:"client"`
	} `json:"upstream"`
	Resources   []Resource `json:"resources"`
	TokenFormat string     `json:"token_format"`
	// DefaultScope is what a client that asks for no scope gets, and
	// ScopesSupported every scope: clients that cannot step up need the
	// first to hold all they use.
	DefaultScope    []string `json:"default_scope,omitempty"`
	ScopesSupported []string `json:"scopes_supported,omitempty"`
	// LastSignInFailure is the newest sign-in that ended on an error page
	// or with an error sent back, for flow test to show while it waits.
	LastSignInFailure *Failure `json:"last_sign_in_failure,omitempty"`
}

// Resource is an MCP server the auth server issues tokens for.
type Resource struct {
	Resource              string `json:"resource"`
	IntrospectionClientID string `json:"introspection_client_id"`
}

// Failure is a sign-in that went wrong. It never names the user.
type Failure struct {
	At       time.Time `json:"at"`
	ClientID string    `json:"client_id,omitempty"`
	Error    string    `json:"error"`
	Detail   string    `json:"detail"`
}

// MCP is serve resource's status.
type MCP struct {
	Server                string `json:"server"` // "resource"
	Version               string `json:"version"`
	Resource              string `json:"resource"`
	AuthServer            string `json:"auth_server"`
	IntrospectionClientID string `json:"introspection_client_id"`
	// Serves is what /mcp answers with: the built-in tools, or the MCP
	// server behind the gateway.
	Serves string `json:"serves"`
	// Introspection is the check that the auth server accepts this
	// server's introspection credentials.
	Introspection Check `json:"introspection"`
	// Backend is the check that the MCP server behind the gateway
	// answers, when there is one.
	Backend *Check `json:"backend,omitempty"`
}

// Local reports whether r comes from this machine and was not passed on
// by a proxy (which would make every request look local): the peer is
// loopback and the request carries no Forwarded (RFC 7239), X-Real-IP or
// X-Forwarded-* header at all, whichever of them a proxy sets.
func Local(r *http.Request) bool {
	for h := range r.Header {
		if h = http.CanonicalHeaderKey(h); h == "Forwarded" || h == "X-Real-Ip" || strings.HasPrefix(h, "X-Forwarded-") {
			return false
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Unmap().IsLoopback()
}

// ReadAuth asks the auth server at issuer what it runs with; creds may be
// empty from this machine. false: no answer, or not tmcp's auth server.
func ReadAuth(ctx context.Context, hc *http.Client, issuer string, creds oauth.ClientCredentials) (*Auth, bool) {
	var st Auth
	return &st, read(ctx, hc, strings.TrimSuffix(issuer, "/")+Path, creds, &st) && st.Server == "auth"
}

// ReadMCP asks the MCP server whose endpoint is mcpURL (its status is at
// the origin) what it runs with.
func ReadMCP(ctx context.Context, hc *http.Client, mcpURL string, creds oauth.ClientCredentials) (*MCP, bool) {
	u, err := url.Parse(mcpURL)
	if err != nil || !u.IsAbs() {
		return nil, false
	}
	var st MCP
	return &st, read(ctx, hc, u.Scheme+"://"+u.Host+Path, creds, &st) && st.Server == "resource"
}

func read(ctx context.Context, hc *http.Client, u string, creds oauth.ClientCredentials, out any) bool {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	return oauth.Fetch(ctx, hc, oauth.Call{URL: u, Client: creds}, out) == nil
}
