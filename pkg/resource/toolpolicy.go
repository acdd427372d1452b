package resource

import (
	"fmt"
	"path"
	"slices"
	"strings"
)

// ToolRule says which scopes the tools whose names match Pattern (a glob:
// *, ?, [a-z]) need.
type ToolRule struct {
	Pattern string
	Scopes  []string
}

// ToolPolicy maps tool names to the scopes a tools/call needs. The most
// specific matching rule wins: a name without wildcards before any glob,
// then the longer pattern. A tool no rule matches needs the default scope.
type ToolPolicy []ToolRule

// ParseToolPolicy reads rules written PATTERN=SCOPE[ SCOPE…] (commas also
// separate scopes), as --tool-scope takes them.
func ParseToolPolicy(rules []string) (ToolPolicy, error) {
	var p ToolPolicy
	for _, r := range rules {
		pattern, scopes, ok := strings.Cut(r, "=")
		pattern = strings.TrimSpace(pattern)
		if !ok || pattern == "" {
			return nil, fmt.Errorf("tool scope rule %q: write PATTERN=SCOPE, like 'delete_*=write'", r)
		}
		if _, err := path.Match(pattern, ""); err != nil {
			return nil, fmt.Errorf("tool scope rule %q: bad pattern: %v", r, err)
		}
		p = append(p, ToolRule{Pattern: pattern, Scopes: strings.FieldsFunc(scopes, func(c rune) bool { return c == ' ' || c == ',' })})
	}
	slices.SortStableFunc(p, func(a, b ToolRule) int {
		if wa, wb := strings.ContainsAny(a.Pattern, "*?["), strings.ContainsAny(b.Pattern, "*?["); wa != wb {
			if wa {
				return 1
			}
			return -1
		}
		return len(b.Pattern) - len(a.Pattern)
	})
	return p, nil
}

// Need is the scopes a call of tool needs under p, or def when no rule
// matches.
func (p ToolPolicy) Need(tool string, def []string) []string {
	for _, r := range p {
		if ok, _ := path.Match(r.Pattern, tool); ok {
			return r.Scopes
		}
	}
	return def
}
