package upstream

import (
	"fmt"
	"slices"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// ScopeMap says which provider scopes to ask for: Always on every
// sign-in, and PerScope[s] when the MCP client asks for tmcp's scope s.
// tmcp's MCP scopes are its own; Google, Entra ID and most providers
// refuse scopes they do not know.
type ScopeMap struct {
	Always   []string
	PerScope map[string][]string
}

// ParseScopeMap reads --upstream-scope values: "SCOPE…" (always asked) or
// "MCP-SCOPE=SCOPE…" (asked with that MCP scope; empty asks nothing more).
// A comma separates entries and spaces separate the scopes of one; the
// always-asked entries come first, so "read=a,b" (meant as "read=a b") is
// refused rather than read as b asked on every sign-in.
func ParseScopeMap(values []string) (*ScopeMap, error) {
	if len(values) == 0 {
		return nil, nil
	}
	m := &ScopeMap{PerScope: map[string][]string{}}
	mapped := ""
	for _, item := range values {
		for _, v := range strings.Split(item, ",") {
			v = strings.TrimSpace(v)
			if v == "" {
				return nil, fmt.Errorf("%q holds an empty entry", item)
			}
			mcp, up, isMapped := strings.Cut(v, "=")
			if !isMapped {
				if mapped != "" {
					return nil, fmt.Errorf("%q follows %q: the scopes of one entry are separated by spaces (%s %s), and scopes asked on every sign-in come before any MCP-SCOPE=SCOPE… entry", v, mapped, mapped, v)
				}
				m.Always = append(m.Always, strings.Fields(v)...)
				continue
			}
			mcp = strings.TrimSpace(mcp)
			if mcp == "" || strings.ContainsAny(mcp, " \t") {
				return nil, fmt.Errorf("%q: the part before = must be one MCP scope, like read=tasks.read", v)
			}
			mapped = v
			m.PerScope[mcp] = append(m.PerScope[mcp], strings.Fields(up)...)
		}
	}
	return m, nil
}

// openIDScopes are asked of every OpenID provider: who signed in, with an
// address and a name to show.
var openIDScopes = []string{"openid", "email", "profile"}

// UpstreamScopes is what to ask the provider for when an MCP client asks
// for mcp.
func (c *Client) UpstreamScopes(mcp []string) []string {
	var out []string
	if c.cfg.OpenID {
		out = append(out, openIDScopes...)
		if c.cfg.OfflineAccess {
			out = append(out, "offline_access")
		}
	}
	m := c.cfg.Scopes
	switch {
	case m != nil:
		out = append(out, m.Always...)
		for _, s := range mcp {
			out = append(out, m.PerScope[s]...)
		}
	case !c.cfg.OpenID:
		out = append(out, mcp...) // TaskManager: its scopes are tmcp's
	}
	return dedupe(out)
}

// GrantedScopes is the part of mcp the provider's answer covers: an MCP
// scope stays when the provider granted every scope asked for it. A
// provider that names no scope granted what was asked (RFC 6749 §5.1).
func (c *Client) GrantedScopes(mcp []string, granted string) []string {
	if granted == "" {
		return mcp
	}
	have := oauth.ParseScope(granted)
	var out []string
	for _, s := range mcp {
		need := []string{s}
		if c.cfg.Scopes != nil || c.cfg.OpenID {
			need = nil
			if c.cfg.Scopes != nil {
				need = c.cfg.Scopes.PerScope[s]
			}
		}
		if oauth.ScopeSubset(need, have) {
			out = append(out, s)
		}
	}
	return out
}

func dedupe(scopes []string) []string {
	var out []string
	for _, s := range scopes {
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}
