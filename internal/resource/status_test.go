package resource_test

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// The MCP server's /status answers a request from this machine that no
// proxy passed on (no X-Forwarded-*, Forwarded or X-Real-IP header);
// others need its introspection credentials, and wrong ones are throttled
// by address while the right ones always pass.
func TestStatus_ForwardedNeedsCredentialsAndFailuresAreThrottled(t *testing.T) {
	t.Parallel()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	mcp, err := url.Parse(stack.Resource.URL())
	if err != nil {
		t.Fatal(err)
	}
	statusURL := mcp.Scheme + "://" + mcp.Host + "/status"
	get := func(header, secret string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, statusURL, nil)
		if header != "" {
			req.Header.Set(header, "mcp.example.com")
		}
		if secret != "" {
			req.SetBasicAuth(testkit.ResourceClientID, secret)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}
	if status, _ := get("", ""); status != http.StatusOK {
		t.Fatalf("local, not forwarded: %d, want 200", status)
	}
	for _, h := range []string{"X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Real-IP", "Forwarded"} {
		if status, _ := get(h, ""); status != http.StatusUnauthorized {
			t.Fatalf("with %s and no credentials: %d, want 401", h, status)
		}
	}
	// Five failures so far; five more fill the budget of ten a minute.
	for i := range 5 {
		if status, _ := get("X-Forwarded-Host", "wrong"); status != http.StatusUnauthorized {
			t.Fatalf("wrong credentials %d: %d, want 401", i+1, status)
		}
	}
	if status, retry := get("X-Forwarded-Host", "wrong"); status != http.StatusTooManyRequests || retry == "" {
		t.Fatalf("wrong credentials after 10 failures: %d (Retry-After %q), want 429", status, retry)
	}
	if status, _ := get("X-Forwarded-Host", testkit.ResourceSecret); status != http.StatusOK {
		t.Fatalf("the introspection credentials after others' failures: %d, want 200", status)
	}
}
