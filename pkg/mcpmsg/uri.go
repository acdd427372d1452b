package mcpmsg

import (
	"errors"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"
)

// NormalizeURI is the one spelling of a resource URI that policies match
// (RFC 3986 §6.2.2, taken as far as any server might take it): scheme and
// host in lower case, every percent-encoding decoded, dot segments
// removed, file://localhost/ and file:/ written file:///, a default port
// left out. Whatever a server resolves a spelling to, that is the
// resource the policy judged. A URI whose reading depends on the reader
// is refused: no scheme, userinfo, an encoded slash, backslash or NUL
// (which decode into path structure), a control character, a bad
// percent-encoding or one that decodes to something that is not UTF-8.
func NormalizeURI(raw string) (string, error) {
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "", errors.New("a resource URI must not hold control characters or backslashes")
		}
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "", errors.New("not a URI")
	}
	if u.Scheme == "" {
		return "", errors.New("a resource URI must be absolute (scheme:…)")
	}
	if u.User != nil {
		return "", errors.New("a resource URI must not carry userinfo")
	}
	scheme := strings.ToLower(u.Scheme)
	rest, err := suffix(u)
	if err != nil {
		return "", err
	}
	if u.Opaque != "" {
		if scheme == "file" {
			return "", errors.New("a file URI must be absolute: file:///path")
		}
		opaque, err := decode(u.Opaque, true)
		if err != nil {
			return "", err
		}
		return scheme + ":" + opaque + rest, nil
	}
	host, err := decode(strings.ToLower(u.Host), true)
	if err != nil || strings.ContainsAny(host, "/?#@") {
		return "", errors.New("a bad host")
	}
	if port := u.Port(); port == "" && strings.HasSuffix(host, ":") ||
		port == "80" && scheme == "http" || port == "443" && scheme == "https" {
		host = host[:strings.LastIndexByte(host, ':')]
	}
	if scheme == "file" && host == "localhost" {
		host = "" // RFC 8089 §2: the same file
	}
	p, err := decode(u.EscapedPath(), true)
	if err != nil {
		return "", err
	}
	if p != "" {
		trailing := strings.HasSuffix(p, "/") || strings.HasSuffix(p, "/.") || strings.HasSuffix(p, "/..")
		p = path.Clean("/" + p) // RFC 3986 §5.2.4, never above the root
		if trailing && p != "/" {
			p += "/"
		}
	}
	out := scheme + ":"
	if u.Host != "" || scheme == "file" || strings.HasPrefix(raw[len(u.Scheme)+1:], "//") {
		out += "//" + host
	}
	return out + p + rest, nil
}

// suffix is the URI's query and fragment, decoded.
func suffix(u *url.URL) (string, error) {
	var out string
	if u.RawQuery != "" || u.ForceQuery {
		q, err := decode(u.RawQuery, false)
		if err != nil {
			return "", err
		}
		out += "?" + q
	}
	if f := u.EscapedFragment(); f != "" {
		f, err := decode(f, false)
		if err != nil {
			return "", err
		}
		out += "#" + f
	}
	return out, nil
}

// decode percent-decodes s, refusing NUL, control characters and what is
// not UTF-8, and, in a path, what decodes into its structure (a slash or
// a backslash).
func decode(s string, inPath bool) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	out, err := url.PathUnescape(s)
	if err != nil {
		return "", errors.New("a bad percent-encoding")
	}
	if inPath && (strings.Contains(out, "/") && strings.Count(out, "/") != strings.Count(s, "/") || strings.Contains(out, "\\")) {
		return "", errors.New("a resource URI must not percent-encode / or \\")
	}
	if !utf8.ValidString(out) {
		return "", errors.New("a percent-encoding that decodes to something other than UTF-8")
	}
	for _, r := range out {
		if r < 0x20 || r == 0x7f {
			return "", errors.New("a percent-encoded control character or NUL")
		}
	}
	return out, nil
}
