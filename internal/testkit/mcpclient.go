package testkit

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/dpop"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// ClientRedirect is where test MCP clients are sent back to. Nothing
// listens there: the Browser stops at it.
const ClientRedirect = "http://127.0.0.1:3999/callback"

// OAuthClient plays an MCP client against tmcp's auth server.
type OAuthClient struct {
	t            testing.TB
	HTTP         *http.Client
	Meta         oauth.ServerMetadata
	ClientID     string
	ClientSecret string
	RedirectURI  string
	// Resource is the RFC 8707 resource requested (default ResourceURL).
	Resource string
	// DPoP, when set, signs a DPoP proof into every token request
	// (RFC 9449 §5), with Nonce when the server gave one.
	DPoP  *dpop.Key
	Nonce string
}

// Discover fetches the RFC 8414 metadata of issuer.
func Discover(t testing.TB, issuer string) *OAuthClient {
	t.Helper()
	c := &OAuthClient{t: t, HTTP: &http.Client{}, RedirectURI: ClientRedirect, Resource: ResourceURL}
	urls, err := oauth.MetadataURLs(issuer) // RFC 8414 §3.1: inserted before the issuer's path
	if err != nil {
		t.Fatal(err)
	}
	status, body := c.JSON(http.MethodGet, urls[0], nil)
	if status != http.StatusOK {
		t.Fatalf("metadata: %d %s", status, body)
	}
	if err := json.Unmarshal(body, &c.Meta); err != nil {
		t.Fatal(err)
	}
	return c
}

// JSON sends a JSON request (or none when in is nil) and returns the raw answer.
func (c *OAuthClient) JSON(method, u string, in any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if in != nil {
		b, _ := json.Marshal(in)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, body
}

// Register performs RFC 7591 registration with metadata md and keeps the
// client's credentials.
func (c *OAuthClient) Register(md map[string]any) map[string]any {
	c.t.Helper()
	status, body := c.JSON(http.MethodPost, c.Meta.RegistrationEndpoint, md)
	if status != http.StatusCreated {
		c.t.Fatalf("register: %d %s", status, body)
	}
	var out map[string]any
	_ = json.Unmarshal(body, &out)
	c.ClientID, _ = out["client_id"].(string)
	c.ClientSecret, _ = out["client_secret"].(string)
	return out
}

// RegisterPublic registers a public client with both grants.
func (c *OAuthClient) RegisterPublic() {
	c.Register(map[string]any{
		"client_name": "Test MCP Client", "redirect_uris": []string{c.RedirectURI},
		"grant_types": []string{"authorization_code", "refresh_token"}, "response_types": []string{"code"},
		"token_endpoint_auth_method": "none",
	})
}

// Authz is one authorization request's secrets.
type Authz struct {
	URL      string
	State    string
	Verifier string
}

// AuthorizeURL builds an authorization request with PKCE S256; params
// override or add parameters (an empty value removes one).
func (c *OAuthClient) AuthorizeURL(params map[string]string) Authz {
	a := Authz{State: secrets.Random(16), Verifier: secrets.Random(32)}
	q := url.Values{
		"response_type": {"code"}, "client_id": {c.ClientID}, "redirect_uri": {c.RedirectURI},
		"scope": {"read write"}, "state": {a.State}, "resource": {c.Resource},
		"code_challenge": {oauth.S256Challenge(a.Verifier)}, "code_challenge_method": {"S256"},
	}
	for k, v := range params {
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
	}
	a.URL = c.Meta.AuthorizationEndpoint + "?" + q.Encode()
	return a
}

// Form posts a form, authenticating as the client when it has a secret,
// with a fresh DPoP proof when the client has a DPoP key.
func (c *OAuthClient) Form(endpoint string, form url.Values) (int, map[string]any) {
	c.t.Helper()
	h := http.Header{}
	if c.DPoP != nil {
		proof, err := c.DPoP.Proof(http.MethodPost, endpoint, "", c.Nonce)
		if err != nil {
			c.t.Fatal(err)
		}
		h.Set(dpop.Header, proof)
	}
	return c.FormHeader(endpoint, form, h)
}

// FormHeader is Form with the headers h and no proof of its own.
func (c *OAuthClient) FormHeader(endpoint string, form url.Values, h http.Header) (int, map[string]any) {
	c.t.Helper()
	if c.ClientSecret == "" && form.Get("client_id") == "" {
		form.Set("client_id", c.ClientID)
	}
	req, _ := http.NewRequest(http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	for k, v := range h {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if c.ClientSecret != "" {
		req.SetBasicAuth(url.QueryEscape(c.ClientID), url.QueryEscape(c.ClientSecret))
	}
	return Do(c.t, req)
}

// Introspect calls the introspection endpoint as a resource server.
func (c *OAuthClient) Introspect(token, id, secret string) (int, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.Meta.IntrospectionEndpoint, strings.NewReader(url.Values{"token": {token}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if id != "" {
		req.SetBasicAuth(id, secret)
	}
	return Do(c.t, req)
}

// Do sends req and decodes a JSON answer (an empty body decodes to an
// empty map).
func Do(t testing.TB, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	out := map[string]any{}
	if len(body) > 0 {
		if err := json.Unmarshal(body, &out); err != nil {
			t.Fatalf("POST %s: %d, body is not JSON: %q", req.URL, resp.StatusCode, body)
		}
	}
	return resp.StatusCode, out
}

// Exchange redeems the code of a callback for tokens.
func (c *OAuthClient) Exchange(code, verifier string) (int, map[string]any) {
	return c.Form(c.Meta.TokenEndpoint, url.Values{
		"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {verifier},
		"redirect_uri": {c.RedirectURI}, "resource": {c.Resource},
	})
}

// SignIn drives the browser through tmcp's consent, the sandbox login and
// the sandbox consent (each only if shown), and returns where the flow
// sent the browser back.
func SignIn(t testing.TB, b *Browser, authorizeURL string) *url.URL {
	t.Helper()
	return SignInWith(t, b, authorizeURL, LoginForm{PathSuffix: "/login", Element: "login",
		Fields: map[string]string{"email": DemoEmail, "password": DemoPassword}})
}

// LoginForm is a provider's login page: the page whose path ends in
// PathSuffix, the form around element Element, filled with Fields.
type LoginForm struct {
	PathSuffix, Element string
	Fields              map[string]string
}

// SignInWith is SignIn at a provider with another login form.
func SignInWith(t testing.TB, b *Browser, authorizeURL string, login LoginForm) *url.URL {
	t.Helper()
	p := b.Get(authorizeURL)
	for step := 0; step < 5 && p.Status == http.StatusOK; step++ {
		if strings.HasSuffix(p.URL.Path, login.PathSuffix) {
			p = b.Submit(p, login.Element, login.Fields)
			continue
		}
		p = b.Submit(p, "approve", nil) // tmcp's consent, then TaskManager's
	}
	loc := p.Location()
	if p.Status/100 != 3 || loc == nil || !strings.HasPrefix(loc.String(), b.StopAt) {
		t.Fatalf("sign-in did not come back to %s: status %d at %s\n%s", b.StopAt, p.Status, p.URL, p.Body)
	}
	return loc
}

// PublicClient discovers the stack's auth server and registers a public
// client there: the start of most protocol tests.
func (s *Stack) PublicClient(t testing.TB) *OAuthClient {
	t.Helper()
	c := Discover(t, s.Auth.URL())
	c.RegisterPublic()
	return c
}

// SignInForTokens signs in as the demo user, with params on the authorize
// request, and redeems the code: the token response. A step that fails
// fails the test.
func (c *OAuthClient) SignInForTokens(params map[string]string) map[string]any {
	c.t.Helper()
	authz := c.AuthorizeURL(params)
	back := SignIn(c.t, NewBrowser(c.t, c.RedirectURI), authz.URL)
	status, tok := c.Exchange(back.Query().Get("code"), authz.Verifier)
	if status != http.StatusOK {
		c.t.Fatalf("exchange: %d %v", status, tok)
	}
	return tok
}

// AccessToken is the demo user's access token with scope (empty: the
// default), for a new public client, bound to the stack's MCP server.
func (s *Stack) AccessToken(t testing.TB, scope string) string {
	t.Helper()
	c := Discover(t, s.Auth.URL())
	c.Resource = s.Resource.URL()
	c.RegisterPublic()
	var params map[string]string
	if scope != "" {
		params = map[string]string{"scope": scope}
	}
	return c.SignInForTokens(params)["access_token"].(string)
}
