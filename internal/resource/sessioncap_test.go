package resource_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// A client that never ends its sessions is not locked out by the cap
// until they expire: at the cap, its own session idle longest (a minute
// at least, no request in flight) gives its place to the new one; a
// session with an open stream is not idle, however old.
func TestSessions_CapEvictsTheOldestIdleSessionOfItsClient(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.SessionIdleTTL, c.Sessions, c.Now = 30*time.Minute, resource.SessionLimits{PerClient: 2}, clock.Now
	}}, "read")
	mcpURL := stack.Resource.URL()
	streaming, busy := initialize(t, mcpURL, tok), initialize(t, mcpURL, tok)
	if resp := send(t, mcpURL, tok, http.MethodPost, "initialize", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third session while both were just used: %d, want 503", resp.StatusCode)
	}
	// The older session holds a stream open.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req := testkit.MCPRequest(t, http.MethodGet, mcpURL, tok, streaming, nil).WithContext(ctx)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %v %v", resp, err)
	}
	defer resp.Body.Close()
	clock.Advance(30 * time.Second)
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", busy); resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/list: %d", resp.StatusCode)
	}
	// The new session takes the place of the idle one. A request's end
	// counts as use and may be marked just after its answer reached the
	// client: advance until it has.
	waitUntil(t, func() bool {
		clock.Advance(90 * time.Second)
		return send(t, mcpURL, tok, http.MethodPost, "initialize", "").StatusCode == http.StatusOK
	})
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", busy); resp.StatusCode != http.StatusNotFound {
		t.Fatalf("the session idle longest, after a new one took its place: %d, want 404", resp.StatusCode)
	}
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", streaming); resp.StatusCode != http.StatusOK {
		t.Fatalf("the older session with its stream open: %d, want 200", resp.StatusCode)
	}
	// Another client of the same user finds no place of its own to take.
	other := stack.AccessToken(t, "read")
	initialize(t, mcpURL, other)
	initialize(t, mcpURL, other)
	clock.Advance(2 * time.Minute)
	if resp := send(t, mcpURL, other, http.MethodPost, "initialize", ""); resp.StatusCode != http.StatusOK {
		t.Fatalf("the other client at its cap with idle sessions: %d, want 200", resp.StatusCode)
	}
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", streaming); resp.StatusCode != http.StatusOK {
		t.Fatalf("the first client's session after the other client's eviction: %d, want 200", resp.StatusCode)
	}
}
