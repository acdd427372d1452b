package upstream_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

func TestParseScopeMap(t *testing.T) {
	m, err := upstream.ParseScopeMap([]string{"openid email", "read=tasks.read", "write=tasks.write tasks.read", "admin="})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Always, []string{"openid", "email"}) || !slices.Equal(m.PerScope["write"], []string{"tasks.write", "tasks.read"}) ||
		len(m.PerScope["admin"]) != 0 {
		t.Fatalf("map = %+v", m)
	}
	for _, bad := range []string{"=x", "read write=x"} {
		if _, err := upstream.ParseScopeMap([]string{bad}); err == nil || !strings.Contains(err.Error(), "one MCP scope") {
			t.Errorf("%q: %v", bad, err)
		}
	}
	if m, err := upstream.ParseScopeMap(nil); m != nil || err != nil {
		t.Errorf("no values: %v %v, want nil (TaskManager's identity map)", m, err)
	}
}

// A comma separates entries and spaces the scopes of one: "read=a b,
// write=c" is two mapped entries, and "read=a,b" (b meant for read) is
// refused rather than read as b asked on every sign-in.
func TestParseScopeMap_CommaSeparatesEntries(t *testing.T) {
	m, err := upstream.ParseScopeMap([]string{"openid email, offline_access,read=tasks.read tasks.list, write=tasks.write"})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(m.Always, []string{"openid", "email", "offline_access"}) || !slices.Equal(m.PerScope["read"], []string{"tasks.read", "tasks.list"}) ||
		!slices.Equal(m.PerScope["write"], []string{"tasks.write"}) {
		t.Fatalf("map = %+v", m)
	}
	for bad, want := range map[string]string{
		"read=tasks.read,tasks.write": `"tasks.write" follows "read=tasks.read"`,
		"read=a,,write=b":             "empty entry",
		"read=a,":                     "empty entry",
	} {
		if _, err := upstream.ParseScopeMap([]string{bad}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %q", bad, err, want)
		}
	}
	// Entries from repeated flags follow the same rule.
	if _, err := upstream.ParseScopeMap([]string{"read=tasks.read", "tasks.write"}); err == nil {
		t.Error("an always-asked entry after a mapped one was accepted")
	}
}

func TestScopes_TaskManagerIdentityOpenIDOwnMapped(t *testing.T) {
	mk := func(cfg upstream.Config) *upstream.Client {
		cfg.BaseURL = "http://tm.example"
		c, err := upstream.New(cfg)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	tm := mk(upstream.Config{})
	if got := tm.UpstreamScopes([]string{"read", "write"}); !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("TaskManager asked %v", got)
	}
	if got := tm.GrantedScopes([]string{"read", "write"}, "read"); !slices.Equal(got, []string{"read"}) {
		t.Errorf("TaskManager granting read only: %v", got)
	}
	op := mk(upstream.Config{OpenID: true, OfflineAccess: true})
	if got := op.UpstreamScopes([]string{"read", "write"}); !slices.Equal(got, []string{"openid", "email", "profile", "offline_access"}) {
		t.Errorf("OpenID provider asked %v", got)
	}
	if got := op.GrantedScopes([]string{"read", "write"}, "openid email"); !slices.Equal(got, []string{"read", "write"}) {
		t.Errorf("OpenID provider's grant of its own scopes: %v", got)
	}
	m, _ := upstream.ParseScopeMap([]string{"write=tasks.write"})
	mapped := mk(upstream.Config{OpenID: true, Scopes: m})
	if got := mapped.UpstreamScopes([]string{"read", "write"}); !slices.Equal(got, []string{"openid", "email", "profile", "tasks.write"}) {
		t.Errorf("mapped asked %v", got)
	}
	if got := mapped.GrantedScopes([]string{"read", "write"}, "openid"); !slices.Equal(got, []string{"read"}) {
		t.Errorf("provider refusing tasks.write still granted %v", got)
	}
}

func TestPresets(t *testing.T) {
	var gh upstream.Config
	if err := upstream.ApplyPreset(&gh, "github", upstream.PresetOptions{}); err != nil {
		t.Fatal(err)
	}
	if gh.TokenEndpoint != "https://github.com/login/oauth/access_token" || gh.EmailsEndpoint == "" || gh.Issuer != "" ||
		!slices.Equal(gh.Scopes.Always, []string{"read:user", "user:email"}) {
		t.Errorf("github preset = %+v", gh)
	}
	var g upstream.Config
	_ = upstream.ApplyPreset(&g, "google", upstream.PresetOptions{})
	if g.Issuer != "https://accounts.google.com" || g.AuthParams.Get("access_type") != "offline" {
		t.Errorf("google preset = %+v", g)
	}
	var e upstream.Config
	if err := upstream.ApplyPreset(&e, "entra", upstream.PresetOptions{Tenant: "contoso.onmicrosoft.com"}); err != nil ||
		e.Issuer != "https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0" {
		t.Errorf("entra preset = %+v, %v", e, err)
	}
	for name, o := range map[string]upstream.PresetOptions{"entra": {}, "auth0": {Audience: "https://api"}, "okta": {}} {
		if err := upstream.ApplyPreset(&upstream.Config{}, name, o); err == nil {
			t.Errorf("preset %s with %+v: no error", name, o)
		}
	}
	if err := upstream.ApplyPreset(&upstream.Config{}, "entra", upstream.PresetOptions{Tenant: "common"}); err == nil || !strings.Contains(err.Error(), "no single issuer") {
		t.Errorf("entra common: %v", err)
	}
	a := upstream.Config{Issuer: "https://t.auth0.com/"}
	if err := upstream.ApplyPreset(&a, "auth0", upstream.PresetOptions{Audience: "https://api.example.com"}); err != nil || a.AuthParams.Get("audience") != "https://api.example.com" {
		t.Errorf("auth0 = %+v %v", a, err)
	}
}

// GitHub names users by numeric id and login; the address is the
// primary one /user/emails marks verified, and none when the primary is
// unverified (the public profile's says nothing of verification).
func TestIdentify_GitHubShapedAPI(t *testing.T) {
	emails := `[{"email":"old@example.com","primary":false,"verified":true},{"email":"octocat@github.com","primary":true,"verified":true}]`
	profile := `{"id": 583231, "login": "octocat", "name": "The Octocat", "email": null}`
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer gho_token" {
			http.Error(w, `{"message":"Bad credentials"}`, http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		switch r.URL.Path {
		case "/user":
			w.Write([]byte(profile))
		case "/user/emails":
			w.Write([]byte(emails))
		}
	}))
	defer api.Close()
	var cfg upstream.Config
	if err := upstream.ApplyPreset(&cfg, "github", upstream.PresetOptions{}); err != nil {
		t.Fatal(err)
	}
	cfg.UserinfoEndpoint, cfg.EmailsEndpoint = api.URL+"/user", api.URL+"/user/emails"
	c, err := upstream.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	noJWT := func(context.Context, string) (*jwks.Claims, error) {
		t.Fatal("GitHub gives no JWT to verify")
		return nil, nil
	}
	u, err := c.Identify(context.Background(), &upstream.Token{AccessToken: "gho_token"}, "", noJWT)
	if err != nil {
		t.Fatal(err)
	}
	if u.Subject != "583231" || u.Username != "octocat@github.com" || u.Email != "octocat@github.com" || u.Name != "The Octocat" {
		t.Fatalf("user = %+v", u)
	}
	emails = `[{"email":"octocat@github.com","primary":true,"verified":false}]`
	profile = `{"id": 583231, "login": "octocat", "email": "octocat@github.com"}`
	if u, err := c.Identify(context.Background(), &upstream.Token{AccessToken: "gho_token"}, "", noJWT); err != nil || u.Email != "" || u.Username != "octocat" {
		t.Fatalf("unverified primary address: %+v %v, want no address and the login", u, err)
	}
	emails = `[{"email":"octocat@github.com","primary":true,"verified":true}]`
	cfg.UsernameClaim = "preferred_username"
	c, _ = upstream.New(cfg)
	if u, err := c.Identify(context.Background(), &upstream.Token{AccessToken: "gho_token"}, "", noJWT); err != nil || u.Username != "octocat" {
		t.Fatalf("--username-claim preferred_username: %+v %v", u, err)
	}
	if _, err := c.Identify(context.Background(), &upstream.Token{AccessToken: "revoked"}, "", noJWT); err == nil {
		t.Fatal("a refused token identified someone")
	}
}

// CheckClient decides only on a refusal: the code refused means the
// client authenticated, invalid_client that it did not; a provider that
// fails (5xx, server_error, temporarily_unavailable, HTML) decides
// nothing and says it is unavailable.
func TestCheckClient_OnlyARefusalDecides(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
		want   error // nil: the client authenticates
	}{
		{400, `{"error":"invalid_grant"}`, nil},
		{401, `{"error":"invalid_client"}`, upstream.ErrClientRefused},
		{200, `{"error":"incorrect_client_credentials"}`, upstream.ErrClientRefused},
		{503, `{"error":"temporarily_unavailable"}`, upstream.ErrUnavailable},
		{500, `{"error":"server_error"}`, upstream.ErrUnavailable},
		{400, `{"error":"server_error"}`, upstream.ErrUnavailable},
		{502, `<html>Bad Gateway</html>`, upstream.ErrUnavailable},
	} {
		tm := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		}))
		c, err := upstream.New(upstream.Config{BaseURL: tm.URL, TokenEndpoint: "/api/oauth/token", ClientID: "tmcp", ClientSecret: "s3cret-value"})
		if err != nil {
			t.Fatal(err)
		}
		err = c.CheckClient(context.Background())
		tm.Close()
		if tc.want == nil && err != nil || tc.want != nil && !errors.Is(err, tc.want) {
			t.Errorf("%d %s: %v, want %v", tc.status, tc.body, err, tc.want)
		}
		if failing := errors.Is(err, upstream.ErrProviderFailing); failing != (tc.status >= 500 || strings.Contains(tc.body, "server_error") || strings.Contains(tc.body, "temporarily")) {
			t.Errorf("%d %s: ErrProviderFailing = %v", tc.status, tc.body, failing)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("%d %s: the error shows the client secret: %v", tc.status, tc.body, err)
		}
	}
}
