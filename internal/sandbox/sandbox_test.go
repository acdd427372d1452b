package sandbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/jwks"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/sandbox"
	"github.com/tmcp-dev/tmcp/internal/secrets"
	"github.com/tmcp-dev/tmcp/internal/testkit"
	"github.com/tmcp-dev/tmcp/internal/upstream"
)

const redirect = "http://127.0.0.1:3999/callback"

// login signs the demo user in and returns the browser.
func login(t *testing.T, base string) *testkit.Browser {
	t.Helper()
	b := testkit.NewBrowser(t, redirect)
	p := b.Get(base + "/login")
	p = b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": testkit.DemoPassword})
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Signed in as") {
		t.Fatalf("login: %d %s", p.Status, p.Body)
	}
	return b
}

// obtain runs the authorization code flow as tmcp would and returns the
// token response.
func obtain(t *testing.T, base, scope string) map[string]any {
	t.Helper()
	b := login(t, base)
	verifier := secrets.Random(32)
	q := url.Values{"response_type": {"code"}, "client_id": {testkit.UpstreamClientID}, "redirect_uri": {redirect},
		"scope": {scope}, "state": {"s1"}, "code_challenge": {oauth.S256Challenge(verifier)}, "code_challenge_method": {"S256"}}
	p := b.Get(base + "/api/oauth/authorize?" + q.Encode())
	p = b.Submit(p, "approve", nil)
	loc := p.Location()
	if loc == nil || loc.Query().Get("state") != "s1" || loc.Query().Get("code") == "" {
		t.Fatalf("authorize: %d %s", p.Status, p.Header.Get("Location"))
	}
	status, tok := tokenCall(t, base, url.Values{"grant_type": {"authorization_code"}, "code": {loc.Query().Get("code")},
		"redirect_uri": {redirect}, "code_verifier": {verifier}}, true)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, tok)
	}
	return tok
}

func tokenCall(t *testing.T, base string, form url.Values, basic bool) (int, map[string]any) {
	t.Helper()
	if !basic {
		form.Set("client_id", testkit.UpstreamClientID)
		form.Set("client_secret", testkit.UpstreamSecret)
	}
	req, _ := http.NewRequest(http.MethodPost, base+"/api/oauth/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic {
		req.SetBasicAuth(testkit.UpstreamClientID, testkit.UpstreamSecret)
	}
	return testkit.Do(t, req)
}

func api(t *testing.T, method, u, token string, body any) (int, map[string]any, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	resp := testkit.Send(t, testkit.BearerRequest(t, method, u, token, rd))
	var raw bytes.Buffer
	raw.ReadFrom(resp.Body)
	out := map[string]any{}
	_ = json.Unmarshal(raw.Bytes(), &out)
	if www := resp.Header.Get("WWW-Authenticate"); www != "" {
		out["www-authenticate"] = www
	}
	return resp.StatusCode, out, raw.Bytes()
}

func TestSandbox_AuthorizationCodeFlowAndRefresh(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect)
	tok := obtain(t, s.URL(), "read write")
	if tok["scope"] != "read write" || tok["token_type"] != "Bearer" {
		t.Fatalf("token = %v", tok)
	}
	status, ui, _ := api(t, http.MethodGet, s.URL()+"/api/oauth/userinfo", tok["access_token"].(string), nil)
	if status != 200 || ui["email"] != testkit.DemoEmail || ui["sub"] == "" {
		t.Fatalf("userinfo = %d %v", status, ui)
	}
	rt := tok["refresh_token"].(string)
	status, next := tokenCall(t, s.URL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, false)
	if status != 200 || next["access_token"] == tok["access_token"] {
		t.Fatalf("refresh (client_secret_post) = %d %v", status, next)
	}
	status, body := tokenCall(t, s.URL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt}}, true)
	if status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("rotated refresh token reused = %d %v", status, body)
	}
	status, body = tokenCall(t, s.URL(), url.Values{"grant_type": {"refresh_token"}, "refresh_token": {next["refresh_token"].(string)}, "scope": {"admin"}}, true)
	if status != 400 || body["error"] != "invalid_scope" {
		t.Fatalf("widened scope at refresh = %d %v", status, body)
	}
}

func TestSandbox_TokenEndpointErrors(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/oauth/token", strings.NewReader("grant_type=authorization_code&code=x"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testkit.UpstreamClientID, "wrong")
	if status, body := testkit.Do(t, req); status != 401 || body["error"] != "invalid_client" {
		t.Fatalf("wrong secret = %d %v", status, body)
	}
	if status, body := tokenCall(t, s.URL(), url.Values{"grant_type": {"password"}}, true); status != 400 || body["error"] != "unsupported_grant_type" {
		t.Fatalf("password grant = %d %v", status, body)
	}
	if status, body := tokenCall(t, s.URL(), url.Values{"grant_type": {"authorization_code"}, "code": {"forged"}}, true); status != 400 || body["error"] != "invalid_grant" {
		t.Fatalf("forged code = %d %v", status, body)
	}
}

func TestSandbox_AuthorizeRules(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect)
	b := login(t, s.URL())
	base := url.Values{"response_type": {"code"}, "client_id": {testkit.UpstreamClientID}, "redirect_uri": {redirect},
		"state": {"st"}, "code_challenge": {oauth.S256Challenge(secrets.Random(32))}, "code_challenge_method": {"S256"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range base {
			q[kk] = vv
		}
		q.Set(k, v)
		return s.URL() + "/api/oauth/authorize?" + q.Encode()
	}
	if p := b.Get(with("redirect_uri", "https://evil.example/cb")); p.Status != 400 || p.Header.Get("Location") != "" {
		t.Fatalf("unregistered redirect = %d %s", p.Status, p.Header.Get("Location"))
	}
	if p := b.Get(with("client_id", "nobody")); p.Status != 400 {
		t.Fatalf("unknown client = %d", p.Status)
	}
	for param, code := range map[string]string{"code_challenge_method": "invalid_request", "scope": "invalid_scope", "response_type": "unsupported_response_type"} {
		val := map[string]string{"code_challenge_method": "plain", "scope": "root", "response_type": "token"}[param]
		p := b.Get(with(param, val))
		if loc := p.Location(); loc == nil || loc.Query().Get("error") != code || loc.Query().Get("state") != "st" {
			t.Errorf("%s=%s: %d %s, want error=%s", param, val, p.Status, p.Header.Get("Location"), code)
		}
	}
	anon := testkit.NewBrowser(t, redirect)
	if p := anon.Get(with("scope", "read")); !strings.HasSuffix(p.URL.Path, "/login") {
		t.Fatalf("signed-out authorize did not ask to log in: %s", p.URL)
	}
}

func TestSandbox_LoginRules(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect)
	b := testkit.NewBrowser(t, "")
	p := b.Get(s.URL() + "/login?next=" + url.QueryEscape("//evil.example/x"))
	p = b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": "wrong"})
	if p.Status != http.StatusUnauthorized || !strings.Contains(p.Body, "Wrong email or password") {
		t.Fatalf("wrong password = %d", p.Status)
	}
	p = b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": testkit.DemoPassword})
	if p.URL.Host != strings.TrimPrefix(s.URL(), "http://") || p.URL.Path != "/" {
		t.Fatalf("login with next=//evil.example went to %s", p.URL)
	}
}

func TestSandbox_TasksNeedScopes(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect)
	rw := obtain(t, s.URL(), "read write")["access_token"].(string)
	ro := obtain(t, s.URL(), "read")["access_token"].(string)
	tasks := s.URL() + "/api/tasks"

	if status, body, _ := api(t, http.MethodGet, tasks, "", nil); status != 401 || !strings.HasPrefix(body["www-authenticate"].(string), "Bearer") {
		t.Fatalf("no token = %d %v", status, body)
	}
	if status, body, _ := api(t, http.MethodGet, tasks, "tm_at_forged", nil); status != 401 || !strings.Contains(body["www-authenticate"].(string), `error="invalid_token"`) {
		t.Fatalf("forged token = %d %v", status, body)
	}
	status, body, _ := api(t, http.MethodPost, tasks, ro, map[string]any{"title": "x"})
	if status != 403 || !strings.Contains(body["www-authenticate"].(string), `scope="write"`) {
		t.Fatalf("create with read-only token = %d %v", status, body)
	}
	status, created, _ := api(t, http.MethodPost, tasks, rw, map[string]any{"title": "Write the docs", "description": "all of them"})
	if status != 201 || created["title"] != "Write the docs" || created["done"] != false {
		t.Fatalf("create = %d %v", status, created)
	}
	id := fmt.Sprint(int(created["id"].(float64)))
	if status, got, _ := api(t, http.MethodGet, tasks+"/"+id, ro, nil); status != 200 || got["description"] != "all of them" {
		t.Fatalf("get = %d %v", status, got)
	}
	if status, got, _ := api(t, http.MethodPatch, tasks+"/"+id, rw, map[string]any{"done": true}); status != 200 || got["done"] != true || got["title"] != "Write the docs" {
		t.Fatalf("update = %d %v", status, got)
	}
	if status, _, raw := api(t, http.MethodGet, tasks, ro, nil); status != 200 || !strings.Contains(string(raw), `"done":true`) {
		t.Fatalf("list = %d %s", status, raw)
	}
	for _, bad := range []map[string]any{{"title": ""}, {"title": strings.Repeat("x", 201)}, {"nope": 1}} {
		if status, _, _ := api(t, http.MethodPost, tasks, rw, bad); status != 400 {
			t.Errorf("create %v = %d, want 400", bad, status)
		}
	}
	if status, got, _ := api(t, http.MethodPatch, tasks+"/"+id, rw, map[string]any{"title": " "}); status != 400 || got["error"] != "invalid_request" {
		t.Errorf("update to an empty title = %d %v", status, got)
	}
	if status, got, _ := api(t, http.MethodPatch, tasks+"/999999", rw, map[string]any{"done": true}); status != 404 || got["error"] != "not_found" {
		t.Errorf("update of a missing task = %d %v", status, got)
	}
	if status, _, _ := api(t, http.MethodDelete, tasks+"/"+id, rw, nil); status != 204 {
		t.Fatalf("delete = %d", status)
	}
	if status, _, _ := api(t, http.MethodGet, tasks+"/"+id, ro, nil); status != 404 {
		t.Fatalf("get deleted = %d", status)
	}
	if status, _, _ := api(t, http.MethodGet, tasks+"/abc", ro, nil); status != 400 {
		t.Fatalf("bad id = %d", status)
	}
}

func TestSandbox_ClientsAPIAndIntrospection(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect)
	if status, body, _ := api(t, http.MethodGet, s.URL()+"/api/oauth/clients", "", nil); status != 401 || body["error"] != "unauthorized" {
		t.Fatalf("list without cookie = %d %v", status, body)
	}
	b := login(t, s.URL())
	post := func(ctype string, body string) (int, map[string]any) {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/oauth/clients", strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		resp, err := b.Client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		out := map[string]any{}
		_ = json.NewDecoder(resp.Body).Decode(&out)
		return resp.StatusCode, out
	}
	status, reg := post("application/json", `{"client_name":"MCP Server","redirect_uris":["http://localhost:9000/oauth/callback"]}`)
	if status != 201 || reg["client_secret"] == nil || reg["client_id"] == nil {
		t.Fatalf("register = %d %v", status, reg)
	}
	if status, _ := post("text/plain", `{"client_name":"x","redirect_uris":["https://a.example/cb"]}`); status != 415 {
		t.Fatalf("form-typed (CSRF-able) register = %d, want 415", status)
	}
	if status, body := post("application/json", `{"client_name":"x","redirect_uris":["javascript:alert(1)"]}`); status != 400 || body["error"] != "invalid_redirect_uri" {
		t.Fatalf("javascript: redirect = %d %v", status, body)
	}
	p := b.Get(s.URL() + "/api/oauth/clients")
	if p.Status != 200 || !strings.Contains(p.Body, "MCP Server") || strings.Contains(p.Body, reg["client_secret"].(string)) {
		t.Fatalf("list = %d %s", p.Status, p.Body)
	}

	tok := obtain(t, s.URL(), "read")["access_token"].(string)
	req, _ := http.NewRequest(http.MethodPost, s.URL()+"/api/oauth/introspect", strings.NewReader(url.Values{"token": {tok}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(testkit.UpstreamClientID, testkit.UpstreamSecret)
	if status, info := testkit.Do(t, req); status != 200 || info["active"] != true || info["username"] != testkit.DemoEmail {
		t.Fatalf("introspect = %d %v", status, info)
	}
	if p := testkit.NewBrowser(t, "").Get(s.URL() + "/api/oauth/jwks"); p.Status != 200 || !strings.Contains(p.Body, `"kty":"EC"`) || strings.Contains(p.Body, `"d"`) {
		t.Fatalf("jwks = %d %s", p.Status, p.Body)
	}
}

func TestSandbox_JWTAccessTokens(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect, func(c *sandbox.Config) { c.JWTAccessTokens = true })
	tok := obtain(t, s.URL(), "read")["access_token"].(string)
	if !jwks.LooksLikeJWT(tok) || strings.HasPrefix(tok, "tm_at_") {
		t.Fatalf("access token %q is not a JWT", tok[:12])
	}
	if status, _, _ := api(t, http.MethodGet, s.URL()+"/api/tasks", tok, nil); status != 200 {
		t.Fatalf("the sandbox refused its own JWT: %d", status)
	}
	tm, _ := upstream.New(upstream.Config{BaseURL: s.URL(), JWKSEndpoint: "/api/oauth/jwks", ClientID: testkit.UpstreamClientID})
	c, err := tm.NewVerifier("", nil).Verify(context.Background(), tok)
	if err != nil || c.Email != testkit.DemoEmail || c.Scope != "read" {
		t.Fatalf("verify the sandbox's JWT with its JWKS = %+v, %v", c, err)
	}
}

func TestSandbox_FailedLoginsAreLimited(t *testing.T) {
	t.Parallel()
	s := testkit.StartSandbox(t, redirect, func(c *sandbox.Config) { c.FailedLogins = 3 })
	b := testkit.NewBrowser(t, "")
	p := b.Get(s.URL() + "/login")
	for i := 0; i < 3; i++ {
		if p = b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": "guess"}); p.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d", i+1, p.Status)
		}
	}
	p = b.Submit(p, "login", map[string]string{"email": testkit.DemoEmail, "password": testkit.DemoPassword})
	if p.Status != http.StatusTooManyRequests || p.Header.Get("Retry-After") == "" || !strings.Contains(p.Body, "Too many failed sign-ins") {
		t.Fatalf("login after 3 failures: %d %q", p.Status, p.Header.Get("Retry-After"))
	}
}

// The sandbox's database holds password hashes, sessions and tokens: the
// file and SQLite's -wal and -shm side files are the owner's alone, made
// so before SQLite creates them (they take the database file's mode).
func TestSandbox_DatabaseAndSideFilesArePrivate(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "state", "sandbox.db")
	s := testkit.StartSandbox(t, redirect, func(c *sandbox.Config) { c.DBPath = path })
	login(t, s.URL()) // a write: the WAL holds it
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Errorf("%s has mode %o, want 600", filepath.Base(p), fi.Mode().Perm())
		}
	}
}
