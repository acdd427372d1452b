package authserver_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// The fuzz targets drive the auth server's handler directly (no sockets)
// with arbitrary outside input and check that every answer is one of the
// answers the RFCs allow.

var oauthCodes = []string{"invalid_request", "invalid_client", "invalid_grant", "unauthorized_client",
	"unsupported_grant_type", "invalid_scope", "invalid_target", "server_error", "temporarily_unavailable",
	"invalid_redirect_uri", "invalid_client_metadata"}

func serve(h http.Handler, req *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func checkOAuthError(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body.String())
	}
	if code, _ := body["error"].(string); !slices.Contains(oauthCodes, code) {
		t.Fatalf("status %d with error %q", rec.Code, code)
	}
}

func FuzzAuthorizeQuery(f *testing.F) {
	stack := testkit.StartStack(f, testkit.AuthOptions{})
	c := stack.PublicClient(f)
	f.Add(strings.TrimPrefix(c.AuthorizeURL(nil).URL, c.Meta.AuthorizationEndpoint+"?"))
	f.Add(strings.TrimPrefix(c.AuthorizeURL(map[string]string{"code_challenge_method": "plain"}).URL, c.Meta.AuthorizationEndpoint+"?"))
	f.Add("client_id=" + c.ClientID + "&redirect_uri=javascript:alert(1)")
	f.Add("client_id=" + c.ClientID + "&resource=a&resource=b&response_type=code")
	f.Add("%zz&&==")
	h := stack.Auth.Handler()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest(http.MethodGet, "/oauth/authorize", nil)
		req.URL.RawQuery = query
		rec := serve(h, req)
		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest:
			return // the consent page or an error page
		case http.StatusFound:
			loc, err := url.Parse(rec.Header().Get("Location"))
			if err != nil {
				t.Fatalf("unparsable redirect %q", rec.Header().Get("Location"))
			}
			target := loc.Scheme + "://" + loc.Host + loc.Path
			if target != testkit.ClientRedirect && !strings.HasPrefix(target, "http://127.0.0.1:") &&
				!strings.HasPrefix(target, "http://localhost:") && !strings.HasPrefix(target, stack.Sandbox.URL()) {
				t.Fatalf("redirected to an unregistered place: %s", loc)
			}
			if strings.HasPrefix(target, stack.Sandbox.URL()) {
				return // to TaskManager, after a remembered consent
			}
			if loc.Query().Get("error") == "" || loc.Query().Get("iss") != stack.Auth.URL() {
				t.Fatalf("a redirect to the client without error and iss: %s", loc)
			}
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
	})
}

func FuzzTokenForm(f *testing.F) {
	stack := testkit.StartStack(f, testkit.AuthOptions{})
	c := stack.PublicClient(f)
	for _, s := range []string{
		"grant_type=authorization_code&code=tmcp_ac_x&code_verifier=" + strings.Repeat("a", 43) + "&client_id=" + c.ClientID,
		"grant_type=refresh_token&refresh_token=tmcp_rt_x&client_id=" + c.ClientID,
		"grant_type=urn:ietf:params:oauth:grant-type:token-exchange&subject_token=x",
		"grant_type=password&username=a&password=b", "client_id=a&client_id=b", "%zz",
	} {
		f.Add(s, "")
	}
	f.Add("grant_type=authorization_code", "Basic Og==")
	h := stack.Auth.Handler()
	f.Fuzz(func(t *testing.T, form, authz string) {
		req := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(form))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := serve(h, req)
		switch rec.Code {
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusServiceUnavailable:
			checkOAuthError(t, rec)
		default:
			t.Fatalf("a made-up token request got %d: %s", rec.Code, rec.Body.String())
		}
		if rec.Header().Get("Cache-Control") != "no-store" {
			t.Fatal("token answer without Cache-Control: no-store")
		}
	})
}

func FuzzRegistrationJSON(f *testing.F) {
	stack := testkit.StartStack(f, testkit.AuthOptions{})
	for _, s := range []string{
		`{"redirect_uris":["http://127.0.0.1:1/cb"],"token_endpoint_auth_method":"none","grant_types":["authorization_code","refresh_token"]}`,
		`{"redirect_uris":["javascript:alert(1)"]}`, `{"redirect_uris":"x"}`, `[]`, `{"scope":"admin","redirect_uris":["https://a/b"]}`,
		`{"redirect_uris":["https://a.example/cb"],"client_uri":"javascript:x"}`, `null`,
	} {
		f.Add(s)
	}
	h := stack.Auth.Handler()
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/register", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		rec := serve(h, req)
		if rec.Code != http.StatusCreated {
			if rec.Code != http.StatusBadRequest && rec.Code != http.StatusRequestEntityTooLarge {
				t.Fatalf("status %d", rec.Code)
			}
			checkOAuthError(t, rec)
			return
		}
		var out struct {
			ClientID     string   `json:"client_id"`
			RedirectURIs []string `json:"redirect_uris"`
			Scope        string   `json:"scope"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.ClientID == "" || len(out.RedirectURIs) == 0 {
			t.Fatalf("registration answer %q", rec.Body.String())
		}
		for _, u := range out.RedirectURIs {
			if oauth.ValidateRedirectURI(u) != nil {
				t.Fatalf("registered an invalid redirect URI %q", u)
			}
		}
		if !oauth.ScopeSubset(oauth.ParseScope(out.Scope), []string{"read", "write"}) {
			t.Fatalf("registered scope %q", out.Scope)
		}
	})
}
