package resource

import (
	"regexp"
	"strings"
	"sync"

	"github.com/tmcp-dev/tmcp/pkg/mcpmsg"
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

// uriPatterns caches compiled patterns: policies are fixed at start.
var uriPatterns sync.Map // string → *regexp.Regexp

// uriPattern compiles a resource glob to an anchored regular expression
// (linear time whatever the URI), its scheme and authority lower-cased
// and file://localhost/ written file:/// as NormalizeURI writes them.
func uriPattern(glob string) *regexp.Regexp {
	if re, ok := uriPatterns.Load(glob); ok {
		return re.(*regexp.Regexp)
	}
	g := glob
	if scheme, rest, ok := strings.Cut(g, ":"); ok {
		g = strings.ToLower(scheme) + ":" + rest
		if auth, ok := strings.CutPrefix(rest, "//"); ok {
			host, path, _ := strings.Cut(auth, "/")
			host = strings.ToLower(host)
			if strings.EqualFold(scheme, "file") && host == "localhost" {
				host = ""
			}
			g = strings.ToLower(scheme) + "://" + host + "/" + path
			if !strings.Contains(auth, "/") {
				g = strings.TrimSuffix(g, "/")
			}
		}
	}
	var re strings.Builder
	re.WriteString(`\A`)
	for i := 0; i < len(g); i++ {
		switch c := g[i]; c {
		case '*':
			if i+1 < len(g) && g[i+1] == '*' {
				re.WriteString(`.*`)
				i++
			} else {
				re.WriteString(`[^/]*`)
			}
		case '?':
			re.WriteString(`[^/]`)
		case '[':
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				re.WriteString(regexp.QuoteMeta(g[i:]))
				i = len(g)
				continue
			}
			class := g[i+1 : i+1+end]
			re.WriteByte('[')
			if strings.HasPrefix(class, "^") {
				re.WriteByte('^')
				class = class[1:]
			}
			for _, r := range class {
				if r == '-' {
					re.WriteByte('-')
				} else {
					re.WriteString(regexp.QuoteMeta(string(r)))
				}
			}
			re.WriteByte(']')
			i += end + 1
		case '\\':
			if i+1 < len(g) {
				i++
			}
			re.WriteString(regexp.QuoteMeta(g[i : i+1]))
		default:
			re.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	re.WriteString(`\z`)
	compiled, err := regexp.Compile(re.String())
	if err != nil {
		compiled = regexp.MustCompile(`\A` + regexp.QuoteMeta(g) + `\z`)
	}
	uriPatterns.Store(glob, compiled)
	return compiled
}

// oneLevel reports whether a resource pattern ends in /*, which covers
// one level below it and nothing deeper: usually /** was meant.
func oneLevel(pattern string) bool {
	return strings.HasSuffix(pattern, "/*") && !strings.HasSuffix(pattern, "/**")
}
