package resource

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/tmcp-dev/tmcp/internal/oauth"
)

// ScopeRule says which scopes the tools or prompts whose names, or the
// resources whose URIs, match Pattern need. Pattern is a glob: *, ?,
// [a-z]; in a name * matches anything, in a URI it stays within one path
// segment and ** crosses segments.
type ScopeRule struct {
	Pattern string
	Scopes  []string
}

// ScopePolicy maps names (or URIs) to the scopes a request for them needs.
// The most specific matching rule wins: a name without wildcards before
// any glob, then the longer pattern. What no rule matches needs the
// default scope.
type ScopePolicy []ScopeRule

// ParseScopePolicy reads rules written PATTERN=SCOPE[ SCOPE…], as
// --tool-scope takes them. A comma separates rules and spaces separate the
// scopes of one, so 'delete_*=write,admin' is two rules, the second
// without its = and refused, never a rule needing the scope "write,admin"
// or a silently different one.
func ParseScopePolicy(rules []string) (ScopePolicy, error) {
	var p ScopePolicy
	for _, item := range rules {
		for _, r := range strings.Split(item, ",") {
			r = strings.TrimSpace(r)
			pattern, scopes, ok := strings.Cut(r, "=")
			pattern = strings.TrimSpace(pattern)
			if !ok || pattern == "" {
				return nil, fmt.Errorf("scope rule %q: write PATTERN=SCOPE[ SCOPE…], like 'delete_*=write admin' (a comma separates rules, spaces the scopes of one)", r)
			}
			if _, err := path.Match(pattern, ""); err != nil {
				return nil, fmt.Errorf("scope rule %q: bad pattern: %v", r, err)
			}
			p = append(p, ScopeRule{Pattern: pattern, Scopes: strings.Fields(scopes)})
		}
	}
	slices.SortStableFunc(p, func(a, b ScopeRule) int {
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

// Need is the scopes a request for name needs under p, or def when no
// rule matches.
func (p ScopePolicy) Need(name string, def []string) []string {
	for _, r := range p {
		if namePattern(r.Pattern).MatchString(name) {
			return r.Scopes
		}
	}
	return def
}

// toolFilter is, for --hide-unauthorized, which tools a principal may see
// in tools/list: those whose scopes under the tool policy it holds.
func (s *Server) toolFilter(p *Principal) func(name string) bool {
	return func(name string) bool { return oauth.ScopeSubset(s.toolNeeds(name), p.Scopes) }
}
