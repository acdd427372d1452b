package mcpmsg

import (
	"errors"
	"net/netip"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode/utf8"
)

// NormalizeURI is the one spelling of a resource URI that policies match
// (RFC 3986 §6.2.2, taken as far as any server might take it): scheme and
// host in lower case, every percent-encoding decoded, dot segments
// removed, file://localhost/ and file:/ written file:///, a default port
// left out, an IPv6 address in its RFC 5952 form. Whatever a server
// resolves a spelling to, that is the resource the policy judged.
//
// Servers do not all read URIs by RFC 3986: the TypeScript SDK looks
// resources up by their WHATWG URL serialisation, which trims spaces,
// repairs slashes, reads hosts such as 0x7f.1 or full-width letters as
// other hosts, and takes C| for C:. A URI whose reading depends on the
// reader is refused: anything but RFC 3986's own ASCII characters (braces
// aside, for templates), no scheme, userinfo, an encoded slash, backslash
// or NUL, a bad or non-UTF-8 percent-encoding, and, for http(s), ws(s) and
// ftp, a host that is not plainly a DNS name, a dotted-quad IPv4 or an
// IPv6 address.
func NormalizeURI(raw string) (string, error) {
	for i := 0; i < len(raw); i++ {
		if !uriChar(raw[i]) {
			return "", errors.New("a resource URI holds only RFC 3986 characters: no spaces, controls, backslashes, '|' or non-ASCII (percent-encode them)")
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
		if scheme == "file" || special(scheme) {
			return "", errors.New("a " + scheme + " URI must be written " + scheme + "://host/path")
		}
		opaque, err := decode(u.Opaque, true)
		if err != nil {
			return "", err
		}
		return scheme + ":" + opaque + rest, nil
	}
	afterScheme := raw[len(u.Scheme)+1:]
	if special(scheme) && (!strings.HasPrefix(afterScheme, "//") || strings.HasPrefix(afterScheme, "///") || u.Host == "") {
		return "", errors.New("a " + scheme + " URI must be written " + scheme + "://host/path")
	}
	host, err := normalHost(scheme, u)
	if err != nil {
		return "", err
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
	if u.Host != "" || scheme == "file" || strings.HasPrefix(afterScheme, "//") {
		out += "//" + host
	}
	return out + p + rest, nil
}

// uriChar reports whether c may appear in a resource URI: RFC 3986's
// unreserved, reserved and '%', and the braces of URI templates.
func uriChar(c byte) bool {
	switch {
	case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		return true
	}
	return strings.IndexByte("-._~:/?#[]@!$&'()*+,;=%{}", c) >= 0
}

// special are the schemes whose hosts WHATWG URL parsing rewrites.
func special(scheme string) bool {
	switch scheme {
	case "http", "https", "ws", "wss", "ftp":
		return true
	}
	return false
}

var defaultPorts = map[string]string{"http": "80", "https": "443", "ws": "80", "wss": "443", "ftp": "21"}

// normalHost is u's host and port as NormalizeURI writes them.
func normalHost(scheme string, u *url.URL) (string, error) {
	if strings.Contains(u.Host, "%") {
		return "", errors.New("a resource URI's host must not be percent-encoded")
	}
	name, port := u.Hostname(), u.Port()
	if port == "" && strings.HasSuffix(u.Host, ":") {
		port = "" // an empty port is no port
	}
	if port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n > 65535 {
			return "", errors.New("a bad port")
		}
		if port = strconv.Itoa(n); port == defaultPorts[scheme] {
			port = ""
		}
	}
	name = strings.ToLower(name)
	switch {
	case strings.HasPrefix(u.Host, "["):
		a, err := netip.ParseAddr(name)
		if err != nil || a.Zone() != "" || !a.Is6() {
			return "", errors.New("a bad IPv6 address")
		}
		name = "[" + a.String() + "]"
	case scheme == "file" && name == "localhost":
		name = "" // RFC 8089 §2: the same file
	case special(scheme) || scheme == "file" && name != "":
		if err := plainHost(name); err != nil {
			return "", err
		}
	}
	if port != "" {
		return name + ":" + port, nil
	}
	return name, nil
}

// plainHost accepts a DNS name or a dotted-quad IPv4 address that WHATWG
// URL parsing leaves as it is: no trailing dot, no label of digits or hex
// unless the whole is a canonical dotted quad (0x7f.1, 127.1 and
// 2130706433 are all 127.0.0.1 to it).
func plainHost(name string) error {
	if name == "" || strings.HasSuffix(name, ".") || strings.Contains(name, "..") {
		return errors.New("a bad host")
	}
	labels := strings.Split(name, ".")
	last := labels[len(labels)-1]
	numeric := last != "" && strings.Trim(last, "0123456789") == "" || strings.HasPrefix(last, "0x")
	if numeric {
		a, err := netip.ParseAddr(name)
		if err != nil || !a.Is4() || a.String() != name {
			return errors.New("a host that is not plainly an IPv4 address (write it as four decimal numbers)")
		}
		return nil
	}
	for _, l := range labels {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return errors.New("a host that is not plainly a DNS name")
		}
	}
	return nil
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
	if inPath && (strings.Count(out, "/") != strings.Count(s, "/") || strings.Contains(out, "\\")) {
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
