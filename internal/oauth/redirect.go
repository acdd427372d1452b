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
	if strings.Contains(requested, "#") {
		return false // OAuth 2.1 §2.3: never with a fragment
	}
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
	ErrRedirectPrivateUse  = errors.New("uses a scheme that is neither https, loopback http nor a private-use scheme in reverse domain name form (like com.example.app)")
)

// RedirectPolicy says which redirect URI schemes a server registers. By
// default: https, http on loopback, and private-use schemes named after a
// domain in reverse order (RFC 8252 §7.1); Extra adds schemes ("*": any
// scheme the OAuth 2.1 rules allow).
type RedirectPolicy struct{ Extra []string }

// Check applies the OAuth 2.1 rules (ValidateRedirectURI) and the policy.
func (p RedirectPolicy) Check(raw string) error {
	if err := ValidateRedirectURI(raw); err != nil {
		return err
	}
	u, _ := url.Parse(raw)
	scheme := strings.ToLower(u.Scheme)
	switch {
	case scheme == "https" || scheme == "http":
		return nil
	case reverseDomain(scheme):
		return nil
	}
	for _, s := range p.Extra {
		if s == "*" || strings.EqualFold(s, scheme) {
			return nil
		}
	}
	return ErrRedirectPrivateUse
}

// reverseDomain reports whether a scheme looks like a domain name in
// reverse order: at least two dot-separated labels of letters, digits
// and hyphens.
func reverseDomain(scheme string) bool {
	labels := strings.Split(scheme, ".")
	if len(labels) < 2 {
		return false
	}
	for _, l := range labels {
		if l == "" || strings.Trim(l, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" {
			return false
		}
	}
	return true
}

// RedirectTarget says, for a person, where a redirect URI sends the
// browser: the host of an https or loopback URI, or the application that
// opens a private-use scheme's links.
func RedirectTarget(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return raw
	}
	switch strings.ToLower(u.Scheme) {
	case "https":
		return u.Host
	case "http":
		if IsLoopbackHost(u.Hostname()) {
			return "an application on this device (" + u.Host + ")"
		}
		return u.Host
	}
	return "the application on this device that opens " + strings.ToLower(u.Scheme) + ": links"
}

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
