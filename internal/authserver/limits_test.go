package authserver_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/oauth"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func limitedStack(t *testing.T, l authserver.Limits) *testkit.OAuthClient {
	t.Helper()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Limits = l }})
	return testkit.Discover(t, stack.Auth.URL())
}

func want429(t *testing.T, status int, body map[string]any, retryAfter string) {
	t.Helper()
	if status != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" || retryAfter == "" {
		t.Fatalf("got %d %v (Retry-After %q), want 429 temporarily_unavailable with Retry-After", status, body, retryAfter)
	}
}

func TestRateLimit_PerAddressOnEachEndpoint(t *testing.T) {
	t.Parallel()
	c := limitedStack(t, authserver.Limits{PerIP: 8}) // bursts of 2
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "client_id": {"nobody"}}
	var last int
	var body map[string]any
	var retry string
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		retry = resp.Header.Get("Retry-After")
		resp.Body.Close()
		last = resp.StatusCode
		if i < 2 && last == http.StatusTooManyRequests {
			t.Fatalf("request %d limited within the burst", i+1)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	last, body = testkit.Do(t, req)
	if last != http.StatusTooManyRequests {
		t.Fatalf("4th request = %d", last)
	}
	want429(t, last, body, retry)
	// Another endpoint has its own budget.
	if status, _ := c.Introspect("x", "nobody", "x"); status == http.StatusTooManyRequests {
		t.Fatal("the token endpoint's limit spilled onto introspection")
	}
}

func TestRateLimit_ThousandsOfRegistrationsRefused(t *testing.T) {
	t.Parallel()
	c := limitedStack(t, authserver.Limits{Registrations: 60}) // bursts of 10
	md := map[string]any{"redirect_uris": []string{testkit.ClientRedirect}, "token_endpoint_auth_method": "none"}
	created, limited := 0, 0
	for i := 0; i < 1000 && limited == 0; i++ {
		status, _ := c.JSON(http.MethodPost, c.Meta.RegistrationEndpoint, md)
		switch status {
		case http.StatusCreated:
			created++
		case http.StatusTooManyRequests:
			limited++
		default:
			t.Fatalf("registration %d: %d", i, status)
		}
	}
	if created != 10 || limited != 1 {
		t.Fatalf("%d registrations before the limit, want 10", created)
	}
}

func TestRateLimit_FailedClientAuthenticationsLockOut(t *testing.T) {
	t.Parallel()
	c := limitedStack(t, authserver.Limits{FailedAuth: 3})
	c.Register(map[string]any{"redirect_uris": []string{testkit.ClientRedirect}})
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}}
	for i := 0; i < 3; i++ {
		req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(c.ClientID, "guess")
		if status, body := testkit.Do(t, req); status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d %v", i+1, status, body)
		}
	}
	// Even the right secret is refused until the budget refills.
	req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(c.ClientID, c.ClientSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests || resp.Header.Get("Retry-After") == "" {
		t.Fatalf("after 3 failures: %d", resp.StatusCode)
	}
	// The lockout is this client's at this address: the resource server
	// introspecting from the same address is not locked out.
	if status, _ := c.Introspect("x", testkit.ResourceClientID, testkit.ResourceSecret); status != http.StatusOK {
		t.Fatalf("the resource server's introspection from the same address: %d", status)
	}
}

func TestRateLimit_PerClient(t *testing.T) {
	t.Parallel()
	c := limitedStack(t, authserver.Limits{PerClient: 4})                         // bursts of 1
	c.Register(map[string]any{"redirect_uris": []string{testkit.ClientRedirect}}) // confidential: its secret proves it
	form := url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}}
	if status, body := c.Form(c.Meta.TokenEndpoint, form); status != http.StatusBadRequest {
		t.Fatalf("first: %d %v", status, body)
	}
	status, body := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}})
	if status != http.StatusTooManyRequests || body["error"] != "temporarily_unavailable" {
		t.Fatalf("second for the same client: %d %v", status, body)
	}
	other := testkit.Discover(t, strings.TrimSuffix(c.Meta.Issuer, "/"))
	other.Register(map[string]any{"redirect_uris": []string{testkit.ClientRedirect}})
	if status, _ := other.Form(other.Meta.TokenEndpoint, url.Values{"grant_type": {"authorization_code"}, "code": {"x"}, "code_verifier": {strings.Repeat("a", 43)}}); status != http.StatusBadRequest {
		t.Fatalf("another client was limited too: %d", status)
	}
}

// A busy MCP server exchanges many users' tokens from one address: its
// authenticated token exchanges are never limited by address, while
// exchanges with wrong credentials are.
func TestRateLimit_ResourceServerExchangesNotLimitedByAddress(t *testing.T) {
	t.Parallel()
	s := signIn(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Limits = authserver.Limits{PerIP: 8} }})
	access, _ := s.tokens(t)
	exchange := func(secret string) (int, map[string]any) {
		form := url.Values{"grant_type": {oauth.GrantTokenExchange}, "subject_token": {access}, "subject_token_type": {oauth.TokenTypeAccessToken}}
		req, _ := http.NewRequest(http.MethodPost, s.c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(testkit.ResourceClientID, secret)
		return testkit.Do(t, req)
	}
	for i := range 50 {
		if status, body := exchange(testkit.ResourceSecret); status != http.StatusOK {
			t.Fatalf("exchange %d of the resource server: %d %v", i+1, status, body)
		}
	}
	limited := false
	for range 20 {
		if status, _ := exchange("wrong"); status == http.StatusTooManyRequests {
			limited = true
			break
		}
	}
	if !limited {
		t.Fatal("exchanges with a wrong secret were never limited")
	}
}

// registerFrom registers a public client as a request forwarded for addr
// by a trusted proxy on loopback.
func registerFrom(t *testing.T, c *testkit.OAuthClient, addr string) (int, map[string]any, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, c.Meta.RegistrationEndpoint,
		strings.NewReader(`{"redirect_uris":["`+testkit.ClientRedirect+`"],"token_endpoint_auth_method":"none"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", addr)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, body, resp.Header.Get("Retry-After")
}

func proxiedStack(t *testing.T, l authserver.Limits) *testkit.OAuthClient {
	t.Helper()
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) {
		c.Limits = l
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	}})
	return testkit.Discover(t, stack.Auth.URL())
}

// An IPv6 user holds a whole /64: the per-address registration limit
// counts the /64, so new addresses in it get no new budget; IPv4 counts
// each address.
func TestRateLimit_RegistrationsCountAnIPv6Slash64AsOneAddress(t *testing.T) {
	t.Parallel()
	c := proxiedStack(t, authserver.Limits{Registrations: 6}) // bursts of 1
	for _, tc := range []struct {
		addr string
		want int
	}{
		{"2001:db8:1:2::1", http.StatusCreated},
		{"2001:db8:1:2::2", http.StatusTooManyRequests},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", http.StatusTooManyRequests},
		{"2001:db8:1:3::1", http.StatusCreated}, // the next /64
		{"198.51.100.1", http.StatusCreated},
		{"198.51.100.2", http.StatusCreated},
		{"::ffff:198.51.100.2", http.StatusTooManyRequests}, // the same IPv4 address
	} {
		status, body, retry := registerFrom(t, c, tc.addr)
		if status != tc.want {
			t.Fatalf("registration from %s: %d %v, want %d", tc.addr, status, body, tc.want)
		}
		if status == http.StatusTooManyRequests {
			want429(t, status, body, retry)
		}
	}
}

// However many addresses a flood comes from, registrations across the
// server are bounded (--registration-global-limit): 429
// temporarily_unavailable with Retry-After.
func TestRateLimit_RegistrationsBoundedAcrossAllAddresses(t *testing.T) {
	t.Parallel()
	c := proxiedStack(t, authserver.Limits{Registrations: 60, AllRegistrations: 12}) // bursts of 2 across the server
	for i := range 3 {
		status, body, retry := registerFrom(t, c, fmt.Sprintf("198.51.100.%d", i+1))
		if i < 2 {
			if status != http.StatusCreated {
				t.Fatalf("registration %d: %d %v", i+1, status, body)
			}
			continue
		}
		want429(t, status, body, retry)
	}
	// A refused registration (bad metadata) spends nothing of it.
	stack := proxiedStack(t, authserver.Limits{AllRegistrations: 6}) // bursts of 1
	if status, body := stack.JSON(http.MethodPost, stack.Meta.RegistrationEndpoint, map[string]any{"redirect_uris": []string{"javascript:alert(1)"}}); status != http.StatusBadRequest {
		t.Fatalf("bad metadata: %d %s", status, body)
	}
	if status, body, _ := registerFrom(t, stack, "203.0.113.1"); status != http.StatusCreated {
		t.Fatalf("the first good registration after a refused one: %d %v", status, body)
	}
}
