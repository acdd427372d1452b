package testkit

import (
	"context"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
)

// MCP connects an mcp-go client to url with token. An empty version lets
// the client negotiate (the sessionless 2026-07-28 protocol first); a
// version such as "2025-06-18" forces the initialize handshake. sse picks
// the legacy SSE transport.
func MCP(t testing.TB, url, token, version string, sse bool) (*client.Client, error) {
	t.Helper()
	headers := map[string]string{"Authorization": "Bearer " + token}
	var c *client.Client
	var err error
	if sse {
		c, err = client.NewSSEMCPClient(url, client.WithHeaders(headers))
	} else {
		c, err = client.NewStreamableHttpClient(url, transport.WithHTTPHeaders(headers))
	}
	if err != nil {
		return nil, err
	}
	// The SSE stream lives as long as Start's context: not a timeout one.
	if err := c.Start(context.Background()); err != nil {
		return nil, err
	}
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.InitializeRequest{}
	req.Params.ProtocolVersion = version
	req.Params.ClientInfo = mcp.Implementation{Name: "tmcp-test", Version: "1"}
	if _, err := c.Initialize(ctx, req); err != nil {
		return nil, err
	}
	return c, nil
}

// CallTool calls a tool and returns its result and the text of its first
// content block.
func CallTool(t testing.TB, c *client.Client, name string, args map[string]any) (*mcp.CallToolResult, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req := mcp.CallToolRequest{}
	req.Params.Name = name
	req.Params.Arguments = args
	res, err := c.CallTool(ctx, req)
	if err != nil {
		t.Fatalf("call %s: %v", name, err)
	}
	text := ""
	if len(res.Content) > 0 {
		if tc, ok := res.Content[0].(mcp.TextContent); ok {
			text = tc.Text
		}
	}
	return res, text
}
