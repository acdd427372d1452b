package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

func FuzzMatchRedirectURI(f *testing.F) {
	for _, s := range [][2]string{
		{"https://app.example/cb", "https://app.example/cb"},
		{"http://127.0.0.1:3000/callback", "http://127.0.0.1:4000/callback"},
		{"http://localhost/cb", "http://localhost.evil.example/cb"},
		{"cursor://x/cb", "cursor://x/cb?a=1"},
		{"http://[::1]:80/cb", "http://[::1]:81/cb"},
		{"#", "#"},
		{"https://app.example/cb#x", "https://app.example/cb#x"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		got := MatchRedirectURI([]string{registered}, requested)
		// A redirect URI never carries a fragment (RFC 6749 §3.1.2), even
		// one registered so; any other exact match is accepted.
		if strings.Contains(requested, "#") {
			if got {
				t.Fatalf("a redirect URI with a fragment matched: %q", requested)
			}
			return
		}
		if registered == requested && !got {
			t.Fatalf("an exact match was refused: %q", requested)
		}
		if got && registered != requested {
			// Only loopback http URIs may differ, and only in the port.
			req, err1 := url.Parse(requested)
			reg, err2 := url.Parse(registered)
			if err1 != nil || err2 != nil || !IsLoopbackHTTP(req) || !IsLoopbackHTTP(reg) ||
				req.Hostname() != reg.Hostname() || req.EscapedPath() != reg.EscapedPath() || req.RawQuery != reg.RawQuery {
				t.Fatalf("%q matched registered %q", requested, registered)
			}
		}
	})
}

func FuzzValidateRedirectURI(f *testing.F) {
	for _, s := range []string{"https://a.example/cb", "javascript:alert(1)", "http://localhost:1/x", "data:,x",
		"JAVASCRIPT://%0aalert(1)", "https://a.example/cb#f", "com.example:/cb", "http://evil.example/cb", " https://a.example"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if ValidateRedirectURI(raw) != nil {
			return
		}
		u, err := url.Parse(raw)
		if err != nil || !u.IsAbs() || strings.Contains(raw, "#") || u.User != nil {
			t.Fatalf("accepted %q", raw)
		}
		scheme := strings.ToLower(u.Scheme)
		if dangerousSchemes[scheme] || scheme == "http" && !IsLoopbackHost(u.Hostname()) {
			t.Fatalf("accepted %q with scheme %q", raw, scheme)
		}
	})
}

func FuzzBearerChallenge(f *testing.F) {
	f.Add("invalid_token", "the token expired", "https://mcp.example/.well-known/oauth-protected-resource/mcp", "read write")
	f.Add("", "", "", "")
	f.Add("insufficient_scope", `a "quoted" \ value`, "x", "mcp:tools")
	f.Fuzz(func(t *testing.T, e, desc, rm, scope string) {
		c := BearerChallenge{Error: e, ErrorDescription: desc, ResourceMetadata: rm, Scope: scope}
		header := c.String()
		if strings.ContainsAny(header, "\r\n") {
			t.Fatalf("the header can be split: %q", header)
		}
		back, err := ParseBearerChallenge(header)
		if err != nil {
			t.Fatalf("parse %q: %v", header, err)
		}
		clean := func(s string) string {
			return strings.Map(func(r rune) rune {
				if r == '"' || r == '\\' || r < 0x20 || r == 0x7f {
					return -1
				}
				return r
			}, s)
		}
		want := BearerChallenge{Error: clean(e), ErrorDescription: clean(desc), ResourceMetadata: clean(rm), Scope: clean(scope)}
		if back != want {
			t.Fatalf("round trip of %q = %+v, want %+v", header, back, want)
		}
	})
}

func FuzzParseBearerChallenge(f *testing.F) {
	for _, s := range []string{`Bearer realm="x", scope="a b"`, `Basic abc==, Bearer error=invalid_token`, `Bearer scope="\"`, `,,,=`, `Bearer a=b=c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		_, _ = ParseBearerChallenge(header) // must not panic or hang
	})
}

func FuzzReadClientCredentials(f *testing.F) {
	f.Add("client_id=a&client_secret=b", "", "")
	f.Add("client_id=a", "id%3A1", "s%25x")
	f.Add("client_secret=x", "a", "b")
	f.Add("%zz", "", "")
	f.Fuzz(func(t *testing.T, body, user, pass string) {
		r := httptest.NewRequest(http.MethodPost, "/token", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if user != "" {
			r.SetBasicAuth(user, pass)
		}
		if r.ParseForm() != nil {
			return
		}
		c, oerr := ReadClientCredentials(r)
		if oerr != nil {
			if oerr.Code != CodeInvalidRequest && oerr.Code != CodeInvalidClient {
				t.Fatalf("unexpected error code %q", oerr.Code)
			}
			return
		}
		if c.ID == "" || (c.Method == AuthMethodNone) != (c.Secret == "") {
			t.Fatalf("credentials %+v from %q", c, body)
		}
	})
}

func FuzzMetadataJSON(f *testing.F) {
	f.Add(`{"issuer":"https://as.example/tenant","authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t","response_types_supported":["code"]}`)
	f.Add(`{"resource":"https://mcp.example/mcp","authorization_servers":["https://as.example"]}`)
	f.Add(`{"issuer":"%zz"}`)
	f.Fuzz(func(t *testing.T, doc string) {
		var m ServerMetadata
		if json.Unmarshal([]byte(doc), &m) == nil {
			for _, p := range MetadataPaths(m.Issuer) {
				if !strings.HasPrefix(p, "/") {
					t.Fatalf("metadata path %q for issuer %q", p, m.Issuer)
				}
			}
			if urls, err := MetadataURLs(m.Issuer); err == nil {
				for _, u := range urls {
					if !strings.Contains(u, WellKnownAuthorizationServer) && !strings.Contains(u, WellKnownOpenIDConfiguration) {
						t.Fatalf("metadata URL %q for issuer %q", u, m.Issuer)
					}
				}
			}
		}
		var prm ProtectedResourceMetadata
		if json.Unmarshal([]byte(doc), &prm) == nil && prm.Resource != "" {
			if !SameResource(prm.Resource, prm.Resource+"/") && !strings.HasSuffix(prm.Resource, "/") {
				t.Fatalf("SameResource is not tolerant of one trailing slash: %q", prm.Resource)
			}
			_ = ValidResourceIndicator(prm.Resource)
		}
	})
}
