package resource_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/gateway"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// legacyNotesBackend is the team's MCP server on the legacy HTTP+SSE
// transport (mcp-go's SSE server): its tool answers with the identity the
// gateway sent on the message post; streams counts the event streams
// opened, one per MCP session.
func legacyNotesBackend(t *testing.T) (url string, seen *sync.Map, streams, open *atomic.Int32) {
	t.Helper()
	seen, streams, open = &sync.Map{}, &atomic.Int32{}, &atomic.Int32{}
	m := server.NewMCPServer("legacy-notes", "1.0.0", server.WithToolCapabilities(false))
	m.AddTool(mcp.NewTool("whoami_here", mcp.WithDescription("who the gateway says is calling")),
		func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			h, _ := ctx.Value(headerKey{}).(http.Header)
			return mcp.NewToolResultText(h.Get(gateway.HeaderUser) + " with " + h.Get(gateway.HeaderScopes)), nil
		})
	var sse *server.SSEServer
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for name, values := range r.Header {
			seen.Store(r.Method+" "+name, strings.Join(values, ","))
		}
		if r.Method == http.MethodGet {
			streams.Add(1)
			open.Add(1)
			defer open.Add(-1)
		}
		sse.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	// The endpoint event names the server's own origin.
	sse = server.NewSSEServer(m, server.WithBaseURL(srv.URL), server.WithSSEContextFunc(func(ctx context.Context, r *http.Request) context.Context {
		return context.WithValue(ctx, headerKey{}, r.Header.Clone())
	}))
	return srv.URL + "/sse", seen, streams, open
}

// In front of a legacy SSE server, each MCP session gets its own event
// stream, opened and posted to with who the user is and never the MCP
// client's token; the session ends with its stream.
func TestGateway_LegacySSEBackend(t *testing.T) {
	t.Parallel()
	backend, seen, streams, open := legacyNotesBackend(t)
	stack, _, tok := gatewayStack(t, backend, nil, "read")
	for range 2 {
		mc, err := testkit.MCP(t, stack.Resource.URL(), tok, "2025-06-18", false)
		if err != nil {
			t.Fatalf("connect through the gateway: %v", err)
		}
		if _, text := testkit.CallTool(t, mc, "whoami_here", nil); text != "user-demo@example.com with read" {
			t.Fatalf("the backend saw %q", text)
		}
		mc.Close()
	}
	if n := streams.Load(); n != 2 {
		t.Fatalf("%d event streams for two MCP sessions, want 2", n)
	}
	// Ending an MCP session (DELETE) closes its stream. (mcp-go's client
	// sends its DELETE without the token, which the gateway refuses, so
	// the sessions above idle out instead.)
	before := open.Load()
	id := initialize(t, stack.Resource.URL(), tok)
	if n := open.Load(); n != before+1 {
		t.Fatalf("%d streams open after initialize, want %d", n, before+1)
	}
	if resp := send(t, stack.Resource.URL(), tok, http.MethodDelete, "", id); resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %d", resp.StatusCode)
	}
	for deadline := time.Now().Add(5 * time.Second); open.Load() > before; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d event streams open after the session ended, want %d", open.Load(), before)
		}
	}
	for _, h := range []string{"GET " + gateway.HeaderUser, "POST " + gateway.HeaderUser, "POST " + gateway.HeaderEmail} {
		if v, ok := seen.Load(h); !ok || v == "" {
			t.Errorf("the backend got no %s", h)
		}
	}
	seen.Range(func(name, value any) bool {
		if strings.Contains(value.(string), "tmcp_at_") || strings.Contains(name.(string), "Authorization") {
			t.Errorf("the backend received the MCP client's token in %s", name)
		}
		return true
	})
}

// A legacy SSE server that is down answers the MCP client with a JSON-RPC
// error and 502, never a hang.
func TestGateway_LegacySSEBackendDown(t *testing.T) {
	t.Parallel()
	stack, _, tok := gatewayStack(t, "http://127.0.0.1:1/sse", nil, "read")
	start := time.Now()
	resp := send(t, stack.Resource.URL(), tok, http.MethodPost, "initialize", "")
	if resp.StatusCode != http.StatusBadGateway || time.Since(start) > 5*time.Second {
		t.Fatalf("backend down: %d after %s", resp.StatusCode, time.Since(start))
	}
	// /readyz includes the backend.
	ready, err := http.Get(strings.TrimSuffix(stack.Resource.URL(), "/mcp") + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	ready.Body.Close()
	if ready.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("/readyz with the SSE backend down: %d", ready.StatusCode)
	}
}

// The wait for a legacy server's endpoint event ends with the client that
// asked: a backend that never names its endpoint holds no request (nor the
// server's shutdown) for the whole --proxy-timeout.
func TestGateway_LegacySSEBackendSilentEndsWithTheClient(t *testing.T) {
	t.Parallel()
	opened, ended := make(chan struct{}), make(chan struct{})
	var openOnce, endOnce sync.Once
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		openOnce.Do(func() { close(opened) })
		<-r.Context().Done()
		endOnce.Do(func() { close(ended) })
	}))
	t.Cleanup(backend.Close)
	stack, _, tok := full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Proxy, c.ProxyTimeout = backend.URL+"/sse", time.Minute
	}}, "read")
	ctx, cancel := context.WithCancel(context.Background())
	go func() { <-opened; cancel() }() // the client leaves once the gateway waits on the stream
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + testkit.MCPVersion + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	if resp, err := http.DefaultClient.Do(testkit.MCPRequest(t, http.MethodPost, stack.Resource.URL(), tok, "", strings.NewReader(body)).WithContext(ctx)); err == nil {
		resp.Body.Close()
		t.Fatalf("answered %d though the backend named no endpoint", resp.StatusCode)
	}
	select {
	case <-ended:
	case <-time.After(10 * time.Second):
		t.Fatal("the gateway still holds the backend's stream after its client left")
	}
}
