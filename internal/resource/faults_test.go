package resource_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/store"
	"github.com/tmcp-dev/tmcp/internal/store/postgres"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

func get(t *testing.T, u string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 10 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}).Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A database outage is a fault, never a verdict: with PostgreSQL stopped
// and then frozen, every answer that needs storage is 503 (with
// Retry-After for the MCP server), none is "invalid", nothing hangs past
// the storage deadline, /healthz stays up, and after recovery the same
// access and refresh tokens work.
func TestFaults_StorageStoppedAndFrozen(t *testing.T) {
	pg := testkit.PrivatePostgres(t)
	st, err := postgres.Open(context.Background(), pg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	stack, c, _ := full(t, testkit.AuthOptions{Store: store.WithTimeout(st, time.Second),
		MutateResource: func(cfg *resource.Config) { cfg.CacheTTL = 0 }}, "read")
	tok := c.SignInForTokens(nil)
	access, refresh := tok["access_token"].(string), tok["refresh_token"].(string)
	mcpURL, authURL := stack.Resource.URL(), stack.Auth.URL()

	outage := func(t *testing.T) {
		t.Helper()
		start := time.Now()
		resp := rawCall(t, mcpURL, access, "whoami")
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Errorf("MCP call during the outage: %d (Retry-After %q), want 503 — never 401", resp.StatusCode, resp.Header.Get("Retry-After"))
		}
		status, body := c.Introspect(access, testkit.ResourceClientID, testkit.ResourceSecret)
		if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
			t.Errorf("introspection during the outage: %d %v, want 503 temporarily_unavailable — never active:false", status, body)
		}
		status, body = c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if status != http.StatusServiceUnavailable || body["error"] != "temporarily_unavailable" {
			t.Errorf("refresh during the outage: %d %v, want 503 temporarily_unavailable — never invalid_grant", status, body)
		}
		if status, body := get(t, c.AuthorizeURL(nil).URL); status != http.StatusServiceUnavailable || !strings.Contains(body, "storage") {
			t.Errorf("authorize during the outage: %d, want a 503 page", status)
		}
		if status, _ := get(t, authURL+"/healthz"); status != http.StatusOK {
			t.Errorf("/healthz (liveness) during the outage: %d", status)
		}
		if status, _ := get(t, authURL+"/readyz"); status != http.StatusServiceUnavailable {
			t.Errorf("/readyz during the outage: %d, want 503", status)
		}
		if took := time.Since(start); took > 20*time.Second {
			t.Errorf("answers during the outage took %s: something waited past the storage deadline", took)
		}
	}
	recovered := func(t *testing.T) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for {
			if status, _ := get(t, authURL+"/readyz"); status == http.StatusOK {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the auth server did not become ready after the outage")
			}
			time.Sleep(200 * time.Millisecond)
		}
		// The same access token works again (rpc fails the test otherwise).
		newSession(t, mcpURL, access).rpc(t, "tools/call", map[string]any{"name": "whoami", "arguments": map[string]any{}})
	}

	t.Run("Stopped", func(t *testing.T) {
		pg.Stop(t)
		outage(t)
		pg.Start(t)
		recovered(t)
	})
	t.Run("Frozen", func(t *testing.T) {
		pg.Freeze()
		outage(t)
		pg.Thaw()
		recovered(t)
	})
	// The refresh token outlived both outages, unused by them.
	status, body := c.Form(c.Meta.TokenEndpoint, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
	if status != http.StatusOK || body["access_token"] == nil {
		t.Fatalf("refresh after the outages: %d %v", status, body)
	}
}

// TaskManager refusing tmcp's own client (invalid_client) while the auth
// server renews a user's TaskManager token is the operator's to fix, and
// the tool error says so: it names TaskManager's refusal, never
// "the authorization server is unreachable".
func TestFaults_TaskManagerRefusingTmcpIsNamedInTheToolError(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	proxy := testkit.Interpose(t)
	stack, _, tok := full(t, testkit.AuthOptions{Now: clock.Now, OnSandbox: proxy.SetTarget,
		Mutate: func(c *authserver.Config) {
			c.Upstream.TokenEndpoint = proxy.URL + "/api/oauth/token"
			c.AccessTTL = 24 * time.Hour
		}}, "read")
	clock.Advance(2 * time.Hour) // TaskManager's token is stale: the exchange renews it
	proxy.Handle("/api/oauth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
	})
	mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "", false)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	res, text := testkit.CallTool(t, mc, "list_tasks", nil)
	if !res.IsError || !strings.Contains(text, "invalid_client") || strings.Contains(text, "unreachable") {
		t.Fatalf("list_tasks while TaskManager refuses tmcp's client = %v %q, want an error naming invalid_client", res.IsError, text)
	}
}
