package resource

import (
	"strings"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// NeedURI is the scopes a request for the resource uri needs under p, or
// def when no rule matches. The URI is matched in its normalised spelling
// (mcpmsg.NormalizeURI), so DEMO://, dot segments and percent-encodings
// reach the rule their resource is under; one that cannot be normalised
// is an error, never "no rule". In a pattern, * and ? stay within one
// path segment and ** crosses segments: "file:///private/**" is
// everything under /private.
func (p ScopePolicy) NeedURI(uri string, def []string) ([]string, error) {
	norm, err := mcpmsg.NormalizeURI(uri)
	if err != nil {
		return nil, err
	}
	for _, r := range p {
		if uriPattern(r.Pattern).MatchString(norm) {
			return r.Scopes, nil
		}
	}
	return def, nil
}

// oneLevel reports whether a resource pattern ends in /*, which covers
// one level below it and nothing deeper: usually /** was meant.
func oneLevel(pattern string) bool {
	return strings.HasSuffix(pattern, "/*") && !strings.HasSuffix(pattern, "/**")
}
