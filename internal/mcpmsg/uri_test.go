package mcpmsg_test

import (
	"testing"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// RFC 3986 §6.2.2 taken as far as a server may take it: every spelling of
// one resource normalises to one string.
func TestNormalizeURI_SpellingsOfOneResource(t *testing.T) {
	for want, spellings := range map[string][]string{
		"demo://resource/private/doc": {
			"demo://resource/private/doc", "DEMO://resource/private/doc", "demo://RESOURCE/private/doc",
			"demo://resource/x/../private/doc", "demo://resource/./private/./doc", "demo://resource/%70rivate/doc",
			"demo://resource/%2e%2e/private/doc", "demo://resource/public/%2E%2E/private/doc", "demo://resource//../private/doc",
			"demo://resource:/private/doc",
		},
		"file:///etc/secret": {
			"file:///etc/secret", "FILE:///etc/secret", "file://localhost/etc/secret", "file://LOCALHOST/etc/secret",
			"file:/etc/secret", "file:///etc/./secret", "file:///tmp/../etc/secret", "file:///../../etc/secret",
		},
		"https://notes.example/a b": {"https://notes.example:443/a%20b", "HTTPS://Notes.Example/a%20b"},
		"urn:tmcp:secret":           {"URN:tmcp:secret", "urn:tmcp:%73ecret"},
		"demo://resource/dir/":      {"demo://resource/dir/", "demo://resource/dir/x/..", "demo://resource/dir/."},
		"demo://resource/a?q=1/2":   {"demo://resource/a?q=1%2F2"},
		"http://127.0.0.1/x":        {"http://127.0.0.1:080/x", "HTTP://127.0.0.1:80/x"},
		"https://example.com/s":     {"https://example.com:0443/s", "https://EXAMPLE.com/s"},
		"http://[::1]/secret":       {"http://[0:0:0:0:0:0:0:1]/secret", "http://[0000::0001]:80/secret"},
	} {
		for _, s := range spellings {
			got, err := mcpmsg.NormalizeURI(s)
			if err != nil || got != want {
				t.Errorf("NormalizeURI(%q) = %q, %v; want %q", s, got, err, want)
			}
		}
	}
}

// A URI whose reading depends on the reader is refused, never matched
// as written.
func TestNormalizeURI_RefusesWhatCannotBeJudged(t *testing.T) {
	for _, s := range []string{
		"relative/path", "/abs/path", "file:etc/secret", "demo://user@resource/x", "demo://resource/a%2Fb",
		"demo://resource/a%5Cb", "demo://resource/a%00b", "demo://resource/a\\b", "demo://resource/a%zz",
		"demo://resource/%ff", "demo://resource/a%0ab", "demo://resource/a\nb", "demo://resource/\x7f",
		// What the WHATWG URL reading (the TypeScript SDK's) takes for
		// another resource than RFC 3986 does.
		"demo://resource/static/document/architecture.md ", " demo://resource/x", "demo://resource/a b",
		"http://2130706433/secret", "http://0x7f.1/secret", "http://127.1/secret", "http://0177.0.0.1/secret",
		"http://127.0.0.1./secret", "https://ｅｘａｍｐｌｅ.com/secret", "https://exa\u00admple.com/secret",
		"https://exa%C2%ADmple.com/secret", "https://example\u3002com/secret", "http:/127.0.0.1/secret",
		"http:127.0.0.1/secret", "http:///127.0.0.1/secret", "https:example.com/secret", "file:///C|/secret/x",
		"file://0x7f.1/secret", "http://[fe80::1%25eth0]/x",
	} {
		if got, err := mcpmsg.NormalizeURI(s); err == nil {
			t.Errorf("NormalizeURI(%q) = %q, want an error", s, got)
		}
	}
}
