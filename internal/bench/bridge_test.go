package bench

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// envStdioServer makes the test binary a stdio MCP server (mcp-go, an
// echo tool): the backend of BenchmarkBridge.
const envStdioServer = "BENCH_STDIO_SERVER"

func init() {
	if os.Getenv(envStdioServer) != "1" {
		return
	}
	s := server.NewMCPServer("bench-stdio", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("echo"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("echo"), nil
	})
	server.ServeStdio(s) //nolint:errcheck // ends with its input
	os.Exit(0)
}

// BenchmarkBridge: tools/call of a client pinned to 2026-07-28 through the
// stdio gateway (the bridge: one backend process per user and client)
// against the same call of a 2025 client on its own session (a process
// per session), eight of each at once (target ≥ 0.8; reported, not
// asserted).
func BenchmarkBridge(b *testing.B) {
	for i := 0; i < b.N; i++ {
		stack := testkit.StartStack(b, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			c.Command, c.StdioEnv = []string{os.Args[0]}, []string{envStdioServer + "=1"}
		}})
		mcpURL := stack.Resource.URL()
		legacy := rawCaller(b, mcpURL, stack.AccessToken(b, "read"), "echo")
		tokens := make([]string, workers) // a client each: a backend process each, as the 2025 sessions have
		for w := range tokens {
			tokens[w] = stack.AccessToken(b, "read")
		}
		modern := modernCaller(b, mcpURL, tokens, "echo")
		rounds := inRounds(b, workers, 6, time.Second, legacy, modern)
		rates := meanRates(rounds)
		ratio := medianRatio(rounds, 1)
		b.ReportMetric(ratio, "ratio_bridge")
		fmt.Printf("tools/call  stdio, 2026-07-28 through the bridge %8.0f/s  2025 session %8.0f/s  ratio %.2f  (%d clients)\n", rates[1], rates[0], ratio, workers)
	}
}

// modernCaller calls tool as a client pinned to 2026-07-28 does: no
// session, the version and capabilities in _meta, headers mirroring the
// body; worker w with tokens[w].
func modernCaller(tb testing.TB, mcpURL string, tokens []string, tool string) func(int) error {
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: len(tokens) * 2}}
	tb.Cleanup(hc.CloseIdleConnections)
	call := fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%q,"arguments":{},`+
		`"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{}}}}`, tool)
	complete := []byte(`"resultType":"complete"`)
	return func(w int) error {
		req, _ := http.NewRequest(http.MethodPost, mcpURL, strings.NewReader(call))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+tokens[w])
		req.Header.Set("Mcp-Protocol-Version", "2026-07-28")
		req.Header.Set("Mcp-Method", "tools/call")
		req.Header.Set("Mcp-Name", tool)
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err == nil && (resp.StatusCode != http.StatusOK || !bytes.Contains(body, complete)) {
			err = fmt.Errorf("tools/call through the bridge: %d %s", resp.StatusCode, body)
		}
		return err
	}
}
