package resource

import (
	"net/url"
	"regexp"
	"strings"
	"sync"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// Patterns of scope rules compile to anchored regular expressions, which
// match in linear time whatever the name or URI; policies are fixed at
// start, so each compiles once.
var (
	namePatterns sync.Map // string → *regexp.Regexp
	uriPatterns  sync.Map
)

// namePattern compiles a tool or prompt glob: * and ? match any
// characters, '/' included (names have no path: admin* covers
// admin/delete), [a-z] one of a class.
func namePattern(glob string) *regexp.Regexp {
	if re, ok := namePatterns.Load(glob); ok {
		return re.(*regexp.Regexp)
	}
	re := compileGlob(glob, false)
	namePatterns.Store(glob, re)
	return re
}

// uriPattern compiles a resource glob: * and ? stay within one path
// segment and ** crosses segments. Its scheme and authority are written
// as mcpmsg.NormalizeURI writes a URI's (an IPv6 host's brackets are
// literal), and its percent-encodings decoded, so a rule written as a
// server lists its resources matches them.
func uriPattern(glob string) *regexp.Regexp {
	if re, ok := uriPatterns.Load(glob); ok {
		return re.(*regexp.Regexp)
	}
	var re *regexp.Regexp
	scheme, rest, ok := strings.Cut(glob, ":")
	if !ok {
		re = compileGlob(glob, true)
	} else {
		prefix := strings.ToLower(scheme) + ":"
		if after, ok := strings.CutPrefix(rest, "//"); ok {
			end := strings.IndexAny(after, "/?#")
			if end < 0 {
				end = len(after)
			}
			authority, tail := after[:end], after[end:]
			if strings.ContainsAny(authority, "*?") {
				prefix += "//" + strings.ToLower(authority)
			} else if norm, err := mcpmsg.NormalizeURI(prefix + "//" + authority + "/"); err == nil {
				prefix = strings.TrimSuffix(norm, "/")
			} else {
				prefix += "//" + strings.ToLower(authority)
			}
			rest = tail
		}
		if decoded, err := pathUnescape(rest); err == nil {
			rest = decoded
		}
		re = regexp.MustCompile(`\A` + globBody(prefix, true, true) + globBody(rest, true, false) + `\z`)
	}
	uriPatterns.Store(glob, re)
	return re
}

func compileGlob(glob string, segments bool) *regexp.Regexp {
	return regexp.MustCompile(`\A` + globBody(glob, segments, false) + `\z`)
}

// globBody is the regular expression of a glob; literal takes every
// character as itself except * and ?.
func globBody(g string, segments, literal bool) string {
	star, one := `.*`, `.`
	if segments {
		star, one = `[^/]*`, `[^/]`
	}
	var re strings.Builder
	for i := 0; i < len(g); i++ {
		switch c := g[i]; {
		case c == '*' && segments && i+1 < len(g) && g[i+1] == '*':
			re.WriteString(`.*`)
			for i+1 < len(g) && g[i+1] == '*' {
				i++
			}
		case c == '*':
			re.WriteString(star)
		case c == '?':
			re.WriteString(one)
		case c == '[' && !literal:
			end := strings.IndexByte(g[i+1:], ']')
			if end < 0 {
				re.WriteString(regexp.QuoteMeta(g[i:]))
				return re.String()
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
		case c == '\\' && !literal && i+1 < len(g):
			i++
			re.WriteString(regexp.QuoteMeta(g[i : i+1]))
		default:
			re.WriteString(regexp.QuoteMeta(g[i : i+1]))
		}
	}
	return re.String()
}

// pathUnescape decodes a pattern's percent-encodings, keeping an encoded
// slash encoded (NormalizeURI refuses URIs that hold one).
func pathUnescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	s = strings.NewReplacer("%2F", "%252F", "%2f", "%252f").Replace(s)
	return url.PathUnescape(s)
}
