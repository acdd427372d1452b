package resource_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func jwtHeader(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %.20s…", tok)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		t.Fatal(err)
	}
	var h map[string]any
	_ = json.Unmarshal(raw, &h)
	return h
}

func TestJWT_ValidatedLocallyWithTheJWKS(t *testing.T) {
	t.Parallel()
	logs := &testkit.LogBuffer{}
	stack, c, tok := full(t, testkit.AuthOptions{Log: logs, Mutate: func(c *authserver.Config) { c.TokenFormat = authserver.FormatJWT }}, "read")
	h := jwtHeader(t, tok)
	if h["typ"] != "at+jwt" || h["alg"] != "ES256" || h["kid"] == "" {
		t.Fatalf("JWT header = %v", h)
	}
	if c.Meta.JWKSURI != stack.Auth.URL()+"/.well-known/jwks.json" {
		t.Fatalf("jwks_uri = %q", c.Meta.JWKSURI)
	}
	before := strings.Count(logs.String(), "path=/introspect")
	mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "", false)
	if err != nil {
		t.Fatal(err)
	}
	if res, text := testkit.CallTool(t, mc, "whoami", nil); res.IsError || !strings.Contains(text, testkit.DemoEmail) {
		t.Fatalf("whoami with a JWT = %s", text)
	}
	if after := strings.Count(logs.String(), "path=/introspect"); after != before {
		t.Fatalf("the resource server introspected a JWT (%d calls)", after-before)
	}
	// The documented trade-off: a revoked JWT works until it expires.
	if status, _ := c.Form(c.Meta.RevocationEndpoint, url.Values{"token": {tok}}); status != 200 {
		t.Fatal("revoke failed")
	}
	if resp := rawCall(t, stack.Resource.URL(), tok, "whoami", "Mcp-Protocol-Version", "2025-06-18"); resp.StatusCode == http.StatusUnauthorized {
		t.Fatal("a revoked JWT was refused: the resource server should not have asked")
	}
	// Tampering is not.
	forged := tok[:len(tok)-4] + "AAAA"
	if resp := rawCall(t, stack.Resource.URL(), forged, "whoami"); resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("a tampered JWT: %d", resp.StatusCode)
	}
}

func TestJWT_KeyRotationKeepsOldTokensValid(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	stack, c, oldTok := full(t, testkit.AuthOptions{Now: clock.Now, Mutate: func(c *authserver.Config) { c.TokenFormat = authserver.FormatJWT }}, "read")
	if resp := rawCall(t, stack.Resource.URL(), oldTok, "whoami", "Mcp-Protocol-Version", "2025-06-18"); resp.StatusCode == http.StatusUnauthorized {
		t.Fatal("fresh JWT refused")
	}
	if _, err := authserver.RotateKeys(context.Background(), stack.Store, stack.Config.EncryptionKey, clock.Now()); err != nil {
		t.Fatal(err)
	}
	clock.Advance(31 * time.Second) // past the auth server's key reload interval
	newTok := token(t, c, "read")
	oldKid, newKid := jwtHeader(t, oldTok)["kid"], jwtHeader(t, newTok)["kid"]
	if oldKid == newKid {
		t.Fatalf("still signing with %v after the rotation", oldKid)
	}
	status, body := c.JSON(http.MethodGet, c.Meta.JWKSURI, nil)
	var set struct {
		Keys []map[string]any `json:"keys"`
	}
	_ = json.Unmarshal(body, &set)
	if status != 200 || len(set.Keys) != 2 {
		t.Fatalf("JWKS after rotation = %d %s; want the new and the retired key", status, body)
	}
	for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
		if resp := rawCall(t, stack.Resource.URL(), tok, "whoami", "Mcp-Protocol-Version", "2025-06-18"); resp.StatusCode == http.StatusUnauthorized {
			t.Fatalf("the %s key's token was refused", name)
		}
	}
	// Once every token of the retired key has expired, it is no longer published.
	clock.Advance(2 * time.Hour)
	_, body = c.JSON(http.MethodGet, c.Meta.JWKSURI, nil)
	_ = json.Unmarshal(body, &set)
	if len(set.Keys) != 1 || set.Keys[0]["kid"] != newKid {
		t.Fatalf("JWKS two hours after rotation = %s", body)
	}
}
