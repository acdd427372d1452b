package upstream_test

import (
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/upstream"
)

// The session cookie is read in the shapes people copy it from a
// browser: the value, name=value, a whole cookie string, a Cookie: line.
func TestSessionFrom_TheShapesPeopleCopy(t *testing.T) {
	for _, c := range []struct{ raw, want, err string }{
		{"abc123", "abc123", ""},
		{"c2Vzc2lvbg==", "c2Vzc2lvbg==", ""}, // a value holding "="
		{"session=abc123", "abc123", ""},
		{"foo=bar; session=abc123", "abc123", ""},
		{"session=abc123; theme=dark", "abc123", ""},
		{"Cookie: foo=bar; session=abc123", "abc123", ""},
		{"cookie:session=abc123", "abc123", ""},
		{`session="abc123"`, "abc123", ""},
		{"  session=abc123 \n", "abc123", ""},
		{"foo=bar; theme=dark", "", `the cookies you gave (foo, theme) hold no "session" cookie`},
		{"abc 123", "", "no spaces or quotes"},
	} {
		got, err := upstream.SessionFrom("session", c.raw)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: error %v, want %q", c.raw, err, c.err)
		case c.err == "" && (err != nil || got.Value != c.want || got.CookieName != "session"):
			t.Errorf("%q: %+v %v, want %q", c.raw, got, err, c.want)
		case err != nil && strings.Contains(err.Error(), "bar"):
			t.Errorf("%q: the error shows a cookie's value: %v", c.raw, err)
		}
	}
}
