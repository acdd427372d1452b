package testkit

import (
	"io"
	"net/http"
	"testing"
)

// MCPVersion is the protocol revision that raw MCP requests in tests name.
const MCPVersion = "2025-11-25"

// BearerRequest is a request carrying a JSON body (when body is not nil)
// and the bearer token (when token is not empty).
func BearerRequest(t testing.TB, method, u, token string, body io.Reader) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return req
}

// MCPRequest is a streamable-HTTP request as an MCP client sends it: a
// JSON-RPC body, JSON or an event stream accepted, the bearer token, and
// once initialized the session's id and protocol version.
func MCPRequest(t testing.TB, method, mcpURL, token, session string, body io.Reader) *http.Request {
	t.Helper()
	req := BearerRequest(t, method, mcpURL, token, body)
	req.Header.Set("Accept", "application/json, text/event-stream")
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", MCPVersion)
	}
	return req
}

// Send sends req; the answer's body is closed when the test ends.
func Send(t testing.TB, req *http.Request) *http.Response {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}
