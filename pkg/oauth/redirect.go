package oauth

import (
	"errors"
	"net"
	"net/url"
	"strings"
)

// MatchRedirectURI reports whether requested is one of registered. Matching
// is exact string comparison (OAuth 2.1 §2.3.1), except that for loopback
// redirect URIs the port is ignored (RFC 8252 §7.3): native clients listen
// on whatever port the OS gives them.
func MatchRedirectURI(registered []string, requested string) bool {
	for _, r := range registered {
		if r == requested {
			return true
		}
	}
	req, err := url.Parse(requested)
	if err != nil || !IsLoopbackHTTP(req) {
		return false
	}
	for _, r := range registered {
		reg, err := url.Parse(r)
		if err != nil || !IsLoopbackHTTP(reg) {
			continue
		}
		if reg.Hostname() == req.Hostname() && reg.EscapedPath() == req.EscapedPath() &&
			reg.RawQuery == req.RawQuery && reg.User.String() == req.User.String() {
			return true
		}
	}
	return false
}

// IsLoopbackHTTP reports whether u is an http URI on a loopback host:
// 127.0.0.0/8, [::1] or localhost.
func IsLoopbackHTTP(u *url.URL) bool {
	if u.Scheme != "http" {
		return false
	}
	return IsLoopbackHost(u.Hostname())
}

// IsLoopbackHost reports whether host names this machine's loopback interface.
func IsLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Reasons a redirect URI is refused at registration.
var (
	ErrRedirectNotAbsolute = errors.New("must be an absolute URI")
	ErrRedirectFragment    = errors.New("must not contain a fragment")
	ErrRedirectScheme      = errors.New("uses a scheme that can run code in the browser")
	ErrRedirectPlainHTTP   = errors.New("uses http on a host that is not loopback; use https")
	ErrRedirectUserinfo    = errors.New("must not carry user information")
	ErrRedirectWildcard    = errors.New("must not contain wildcards")
)

// dangerousSchemes run content in the browser instead of handing the code to
// an application (RFC 9700 §4.1, OAuth 2.1 §7.5.1).
var dangerousSchemes = map[string]bool{
	"javascript": true, "data": true, "vbscript": true, "file": true, "blob": true, "about": true,
}

// ValidateRedirectURI applies the OAuth 2.1 §2.3 registration rules: an
// absolute URI without fragment; https, http on loopback (RFC 8252 §7.3), or
// a private-use scheme of a native app (RFC 8252 §7.1).
func ValidateRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() {
		return ErrRedirectNotAbsolute
	}
	if u.Fragment != "" || strings.Contains(raw, "#") {
		return ErrRedirectFragment
	}
	if strings.Contains(raw, "*") {
		return ErrRedirectWildcard
	}
	if u.User != nil {
		return ErrRedirectUserinfo
	}
	scheme := strings.ToLower(u.Scheme)
	switch {
	case dangerousSchemes[scheme]:
		return ErrRedirectScheme
	case scheme == "https":
		if u.Host == "" {
			return ErrRedirectNotAbsolute
		}
	case scheme == "http":
		if !IsLoopbackHost(u.Hostname()) {
			return ErrRedirectPlainHTTP
		}
	default:
		// Private-use schemes (RFC 8252 §7.1) must look like reverse domain
		// names or at least be more than a bare word a browser might own.
		if u.Opaque == "" && u.Path == "" && u.Host == "" {
			return ErrRedirectNotAbsolute
		}
	}
	return nil
}
