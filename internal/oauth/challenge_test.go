package oauth

import "testing"

func TestBearerChallenge_RoundTrip(t *testing.T) {
	c := BearerChallenge{Error: "insufficient_scope", ErrorDescription: `needs "write"`,
		ResourceMetadata: "http://localhost:8001/.well-known/oauth-protected-resource/mcp", Scope: "read write"}
	got := c.String()
	want := `Bearer error="insufficient_scope", error_description="needs write", resource_metadata="http://localhost:8001/.well-known/oauth-protected-resource/mcp", scope="read write"`
	if got != want {
		t.Fatalf("String() =\n%s\nwant\n%s", got, want)
	}
	back, err := ParseBearerChallenge(got)
	if err != nil || back.Scope != "read write" || back.ResourceMetadata != c.ResourceMetadata || back.Error != c.Error {
		t.Fatalf("parse = %+v, %v", back, err)
	}
}

func TestParseBearerChallenge_Variants(t *testing.T) {
	cases := map[string]BearerChallenge{
		`Bearer`:                                 {},
		`bearer resource_metadata="https://x/y"`: {ResourceMetadata: "https://x/y"},
		`Basic realm="a", Bearer scope="read", error=invalid_token`: {Scope: "read", Error: "invalid_token"},
		`Bearer scope="a\"b"`:                              {Scope: `a"b`},
		`Bearer realm="x", scope="read" , Basic realm="y"`: {Scope: "read"},
		`Basic abc==, Bearer scope="s"`:                    {Scope: "s"},
	}
	for h, want := range cases {
		got, err := ParseBearerChallenge(h)
		if err != nil || got != want {
			t.Errorf("ParseBearerChallenge(%q) = %+v, %v; want %+v", h, got, err, want)
		}
	}
	for _, h := range []string{``, `Basic realm="x"`} {
		if got, err := ParseBearerChallenge(h); err == nil {
			t.Errorf("ParseBearerChallenge(%q) = %+v, want error", h, got)
		}
	}
	if got, _ := ParseBearerChallenge(`Bearer scope="unterminated`); got.Scope != "" {
		t.Errorf("an unterminated quoted value was read as %q", got.Scope)
	}
}
