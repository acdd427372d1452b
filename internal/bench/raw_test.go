package bench

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// rawWorkers is how many connections the raw load generator keeps busy:
// enough that the server, not the client, is what runs out.
const rawWorkers = 32

// rawCaller is a load generator that outruns the servers it measures: one
// initialized MCP session and one keep-alive connection a worker, a
// request body built once, and no JSON decoding of the answers, only a
// check that each is a 200 carrying a result (a 401 or 429 is not
// throughput).
func rawCaller(tb testing.TB, mcpURL, token, tool string) func(int) error {
	tb.Helper()
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConns: rawWorkers * 2, MaxIdleConnsPerHost: rawWorkers * 2, IdleConnTimeout: time.Minute}}
	tb.Cleanup(hc.CloseIdleConnections)
	post := func(session, body string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+token)
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
			req.Header.Set("Mcp-Protocol-Version", "2025-11-25")
		}
		resp, err := hc.Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	sessions := make([]string, rawWorkers)
	for i := range sessions {
		resp, body, err := post("", `{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"load","version":"1"}}}`)
		if err != nil || resp.StatusCode != http.StatusOK {
			tb.Fatalf("initialize at %s: %v %s", mcpURL, err, body)
		}
		sessions[i] = resp.Header.Get("Mcp-Session-Id")
		if resp, body, err := post(sessions[i], `{"jsonrpc":"2.0","method":"notifications/initialized"}`); err != nil || resp.StatusCode/100 != 2 {
			tb.Fatalf("initialized at %s: %v %s", mcpURL, err, body)
		}
	}
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{}}}`, tool)
	result := []byte(`"result"`)
	return func(w int) error {
		resp, body, err := post(sessions[w], call)
		switch {
		case err != nil:
			return err
		case resp.StatusCode != http.StatusOK || !bytes.Contains(body, result) || bytes.Contains(body, []byte(`"isError":true`)):
			return fmt.Errorf("%d %.200s", resp.StatusCode, body)
		}
		return nil
	}
}
