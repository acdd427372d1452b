package config

import (
	"fmt"
	"sort"
	"strings"
)

// KnownClient is what one MCP client needs from tmcp's settings beyond
// the defaults: redirect URI schemes the auth server refuses unless told
// (auth.registration_redirect_schemes), and whether it fails to step up
// after a 403 by itself, so the default scope (taskmanager.mcp_scope) must
// already name every scope its tools need.
type KnownClient struct {
	Name    string // as `tmcp dev --clients` takes it
	Title   string // as people call it
	Schemes []string
	NoStep  bool
}

// knownClients are the clients whose needs are known: measured against
// tmcp where the client runs here, else from their own documentation.
var knownClients = []KnownClient{
	{Name: "cursor", Title: "Cursor", Schemes: []string{"cursor"}},
	{Name: "vscode", Title: "VS Code"},
	{Name: "windsurf", Title: "Windsurf"},
	{Name: "claude", Title: "Claude (claude.ai, Claude Desktop)"},
	{Name: "claude-code", Title: "Claude Code"},
	{Name: "chatgpt", Title: "ChatGPT"},
	{Name: "gemini-cli", Title: "Gemini CLI"},
	{Name: "mcp-remote", Title: "mcp-remote 0.15.1", NoStep: true},
	{Name: "mcporter", Title: "mcporter 0.12.3", NoStep: true},
	{Name: "ts-sdk", Title: "MCP TypeScript SDK 1.32.2", NoStep: true},
	{Name: "ai-sdk", Title: "@ai-sdk/mcp 2.0.99", NoStep: true},
	{Name: "mcp-go", Title: "mcp-go v1.6.0 client", NoStep: true},
}

// KnownClients lists every known client.
func KnownClients() []KnownClient { return append([]KnownClient(nil), knownClients...) }

// ClientNames are the names `tmcp dev --clients` takes.
func ClientNames() []string {
	names := make([]string, len(knownClients))
	for i, c := range knownClients {
		names[i] = c.Name
	}
	return names
}

// ClientNeeds is what the named clients need together: the redirect
// schemes to allow and whether the default scope must be every scope. An
// unknown name is an error that lists the known ones.
func ClientNeeds(names []string) (schemes []string, fullScope bool, err error) {
	seen := map[string]bool{}
	for _, n := range names {
		n = strings.ToLower(strings.TrimSpace(n))
		if n == "" {
			continue
		}
		var found *KnownClient
		for i := range knownClients {
			if knownClients[i].Name == n {
				found = &knownClients[i]
			}
		}
		if found == nil {
			known := map[string]bool{}
			for _, c := range ClientNames() {
				known[c] = true
			}
			if near := nearest(n, known); near != "" {
				return nil, false, fmt.Errorf("unknown client %q (did you mean %q?)", n, near)
			}
			return nil, false, fmt.Errorf("unknown client %q: use one of %s", n, strings.Join(ClientNames(), ", "))
		}
		for _, s := range found.Schemes {
			if !seen[s] {
				seen[s] = true
				schemes = append(schemes, s)
			}
		}
		fullScope = fullScope || found.NoStep
	}
	sort.Strings(schemes)
	return schemes, fullScope, nil
}

// ClientsForScheme names the known clients that register redirect URIs
// with scheme, for an error that tells the operator whose URI it is.
func ClientsForScheme(scheme string) []string {
	var titles []string
	for _, c := range knownClients {
		for _, s := range c.Schemes {
			if strings.EqualFold(s, scheme) {
				titles = append(titles, c.Title)
			}
		}
	}
	return titles
}

// NoStepUpClients are the known clients that do not step up after a 403.
func NoStepUpClients() []string {
	var titles []string
	for _, c := range knownClients {
		if c.NoStep {
			titles = append(titles, c.Title)
		}
	}
	return titles
}

// EditDistance is the Levenshtein distance of a and b, for "did you
// mean" on a mistyped flag or name.
func EditDistance(a, b string) int { return editDistance(a, b) }
