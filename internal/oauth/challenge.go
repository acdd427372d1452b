package oauth

import (
	"errors"
	"strings"
)

// BearerChallenge is a WWW-Authenticate Bearer challenge (RFC 6750 §3)
// with the resource_metadata parameter of RFC 9728 §5.1.
type BearerChallenge struct {
	Error            string
	ErrorDescription string
	ResourceMetadata string
	Scope            string
	// Algs, in a DPoP challenge only, are the proof algorithms accepted
	// (RFC 9449 §7.1).
	Algs string
}

// String renders the challenge. Parameters always come in one order so
// the header is stable byte for byte.
func (c BearerChallenge) String() string { return c.render("Bearer") }

// DPoPString renders the same parameters as a DPoP challenge (RFC 9449
// §7.1), which carries the algs the resource server accepts.
func (c BearerChallenge) DPoPString() string { return c.render("DPoP") }

func (c BearerChallenge) render(scheme string) string {
	var parts []string
	add := func(k, v string) {
		if v != "" {
			parts = append(parts, k+"="+quote(v))
		}
	}
	add("error", c.Error)
	add("error_description", c.ErrorDescription)
	add("resource_metadata", c.ResourceMetadata)
	add("scope", c.Scope)
	if scheme != "Bearer" {
		add("algs", c.Algs)
	}
	if len(parts) == 0 {
		return scheme
	}
	return scheme + " " + strings.Join(parts, ", ")
}

// quote makes an RFC 9110 §5.6.4 quoted-string. RFC 6750 §3 forbids '"'
// and '\' inside the values tmcp emits, so they are dropped rather than
// escaped, as are control characters.
func quote(v string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range v {
		if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
			continue
		}
		b.WriteRune(r)
	}
	b.WriteByte('"')
	return b.String()
}

// ErrNoBearerChallenge means a WWW-Authenticate header held no Bearer
// challenge.
var ErrNoBearerChallenge = errors.New("no Bearer challenge in WWW-Authenticate")

// ParseBearerChallenge reads the Bearer challenge out of a WWW-Authenticate
// header value, which may list several challenges (RFC 9110 §11.6.1).
func ParseBearerChallenge(header string) (BearerChallenge, error) {
	return ParseChallenge(header, "Bearer")
}

// ParseChallenge reads the challenge of scheme (Bearer or DPoP) out of a
// WWW-Authenticate header value; ErrNoBearerChallenge when there is none.
func ParseChallenge(header, scheme string) (BearerChallenge, error) {
	params, ok := schemeParams(header, scheme)
	if !ok {
		return BearerChallenge{}, ErrNoBearerChallenge
	}
	return BearerChallenge{
		Error: params["error"], ErrorDescription: params["error_description"],
		ResourceMetadata: params["resource_metadata"], Scope: params["scope"], Algs: params["algs"],
	}, nil
}

// schemeParams scans header for scheme and returns its auth-params.
// Parameters of other schemes are skipped.
func schemeParams(header, scheme string) (map[string]string, bool) {
	s := header
	var params map[string]string
	inBearer := false
	for {
		s = strings.TrimLeft(s, " \t,")
		if s == "" {
			return params, params != nil
		}
		token := s
		if i := strings.IndexAny(s, " \t,="); i >= 0 {
			token = s[:i]
		}
		rest := strings.TrimLeft(s[len(token):], " \t")
		if strings.HasPrefix(rest, "=") && token != "" {
			// An auth-param: name=value.
			value, after, ok := readValue(strings.TrimLeft(rest[1:], " \t"))
			if !ok {
				return params, params != nil
			}
			if inBearer {
				params[strings.ToLower(token)] = value
			}
			s = after
			continue
		}
		if token == "" {
			return params, params != nil
		}
		// A new challenge's scheme name.
		if inBearer {
			return params, true
		}
		inBearer = strings.EqualFold(token, scheme)
		if inBearer {
			params = map[string]string{}
		}
		s = rest
		// token68 of another scheme (e.g. Basic abc==) is skipped with it.
		if !inBearer {
			if i := strings.IndexAny(s, ","); i >= 0 && !strings.Contains(s[:i], "=\"") {
				s = s[i:]
			}
		}
	}
}

// readValue reads a token or quoted-string at the start of s.
func readValue(s string) (value, rest string, ok bool) {
	if strings.HasPrefix(s, `"`) {
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch s[i] {
			case '\\':
				if i+1 < len(s) {
					i++
					b.WriteByte(s[i])
				}
			case '"':
				return b.String(), s[i+1:], true
			default:
				b.WriteByte(s[i])
			}
		}
		return "", "", false // unterminated
	}
	i := strings.IndexAny(s, " \t,")
	if i < 0 {
		return s, "", true
	}
	return s[:i], s[i:], true
}
