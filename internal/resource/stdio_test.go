package resource_test

import (
	"bufio"
	"context"
	"encoding/json"
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

// TestMain lets the test binary play a team's stdio MCP server:
// `resource.test stdio-mcp-server`.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "stdio-mcp-server" {
		stdioServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-email-server" {
		emailServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-asking-server" {
		askingServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-greeting-server" {
		greetingServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-flooding-server" {
		floodingServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-deaf-server" {
		deafServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-unruly-server" {
		unrulyServer()
		return
	}
	if len(os.Args) > 1 && os.Args[1] == "stdio-sleeper" {
		time.Sleep(time.Hour)
		return
	}
	testkit.Main(m)
}

// stdioServer is an mcp-go stdio server whose tools tell who started its
// process and which process it is, and one that crashes it.
func stdioServer() {
	m := server.NewMCPServer("stdio-notes", "1.0.0", server.WithInstructions("notes for tests"))
	m.AddTool(mcp.NewTool("who"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(fmt.Sprintf("%s via %s with %s in %d", os.Getenv("TMCP_USER"), os.Getenv("TMCP_CLIENT_ID"),
			os.Getenv("TMCP_SCOPES"), os.Getpid())), nil
	})
	m.AddTool(mcp.NewTool("crash"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		fmt.Fprintln(os.Stderr, "crashing on purpose")
		os.Exit(3)
		return nil, nil
	})
	fmt.Fprintln(os.Stderr, "stdio server up")
	_ = server.ServeStdio(m)
}

// greetingServer is an mcp-go stdio server whose instructions greet the
// user and client its process was started for.
func greetingServer() {
	m := server.NewMCPServer("greeting", "1.0.0", server.WithInstructions("for "+os.Getenv("TMCP_USER")+" via "+os.Getenv("TMCP_CLIENT_ID")),
		server.WithToolCapabilities(false))
	_ = server.ServeStdio(m)
}

// askingServer is a 2025 server that knows nothing of 2026-07-28: to
// answer a tool call it asks the client for sampling first, and answers
// with what the client said; its slow tool never answers, and it logs
// the cancellations it gets.
func askingServer() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
			Params struct {
				Name      string          `json:"name"`
				RequestID json.RawMessage `json:"requestId"`
			} `json:"params"`
		}
		if json.Unmarshal(in.Bytes(), &req) != nil {
			os.Exit(2)
		}
		switch {
		case req.Method == "notifications/cancelled":
			fmt.Fprintf(os.Stderr, "cancelled %s\n", req.Params.RequestID)
			continue
		case req.Method == "tools/call" && req.Params.Name == "slow":
			fmt.Fprintf(os.Stderr, "slow call %s\n", req.ID)
			continue // never answered
		}
		switch req.Method {
		case "initialize":
			fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-06-18","capabilities":{"tools":{}},"serverInfo":{"name":"asking","version":"1"}}}`+"\n", req.ID)
		case "tools/call":
			fmt.Println(`{"jsonrpc":"2.0","id":"ask-1","method":"sampling/createMessage","params":{"messages":[],"maxTokens":5}}`)
			if !in.Scan() {
				return
			}
			said, _ := json.Marshal(in.Text())
			fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":%s}]}}`+"\n", req.ID, said)
		}
	}
}

// floodingServer answers initialize, and each request with a line longer
// than any message tmcp takes (17 MiB), and keeps reading.
func floodingServer() {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		var req struct {
			ID     json.RawMessage `json:"id"`
			Method string          `json:"method"`
		}
		if json.Unmarshal(in.Bytes(), &req) != nil || req.ID == nil {
			continue
		}
		if req.Method == "initialize" {
			fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{"tools":{}},"serverInfo":{"name":"flooding","version":"1"}}}`+"\n", req.ID)
			continue
		}
		fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"content":[{"type":"text","text":"%s"}]}}`+"\n", req.ID, strings.Repeat("x", 17<<20))
	}
}

// deafServer answers initialize and then reads nothing more: a process
// stuck on something else, whose stdin pipe fills up.
func deafServer() {
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	line, _ := bufio.NewReader(os.Stdin).ReadBytes('\n')
	if json.Unmarshal(line, &req) != nil {
		os.Exit(2)
	}
	fmt.Printf(`{"jsonrpc":"2.0","id":%s,"result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"deaf","version":"1"}}}`+"\n", req.ID)
	select {}
}

func stdioStack(t *testing.T, mutate func(*resource.Config)) (*testkit.Stack, *testkit.OAuthClient, string) {
	t.Helper()
	return full(t, testkit.AuthOptions{MutateResource: func(c *resource.Config) {
		c.Command, c.ProxyTimeout = []string{os.Args[0], "stdio-mcp-server"}, 5*time.Second
		if mutate != nil {
			mutate(c)
		}
	}}, "read")
}

// Each MCP session gets its own process, started with its user's
// identity; two users never share one.
func TestStdio_OneProcessPerSessionWithItsUser(t *testing.T) {
	t.Parallel()
	stack, c, tok := stdioStack(t, nil)
	a, err := testkit.MCP(t, stack.Resource.URL(), tok, "2025-06-18", false)
	if err != nil {
		t.Fatal(err)
	}
	other := stack.PublicClient(t)
	other.Resource = c.Resource
	b, err := testkit.MCP(t, stack.Resource.URL(), token(t, other, "read"), "", false) // negotiates: falls back to initialize
	if err != nil {
		t.Fatal(err)
	}
	_, whoA := testkit.CallTool(t, a, "who", nil)
	_, whoB := testkit.CallTool(t, b, "who", nil)
	if !strings.HasPrefix(whoA, "user-demo@example.com via "+c.ClientID+" with read in ") || !strings.HasPrefix(whoB, "user-demo@example.com via "+other.ClientID+" with read in ") {
		t.Fatalf("identity in the processes: %q, %q", whoA, whoB)
	}
	pid := func(s string) string { return s[strings.LastIndex(s, " ")+1:] }
	if pid(whoA) == pid(whoB) {
		t.Fatalf("two sessions share process %s", pid(whoA))
	}
	if _, again := testkit.CallTool(t, a, "who", nil); pid(again) != pid(whoA) {
		t.Fatalf("a session moved from process %s to %s", pid(whoA), pid(again))
	}
}

// A crash ends that session with an error and never the server; another
// session goes on; an idle session's process is stopped; the cap on
// sessions caps processes.
func TestStdio_CrashIdleAndCap(t *testing.T) {
	t.Parallel()
	clock := testkit.NewClock()
	logs := &testkit.LogBuffer{}
	stack, _, tok := stdioStack(t, func(c *resource.Config) {
		c.Sessions.Max, c.SessionIdleTTL, c.Now, c.Logger = 2, time.Minute, clock.Now, testkit.Logger(logs)
	})
	mcpURL := stack.Resource.URL()
	crashing := initialize(t, mcpURL, tok)
	staying := initialize(t, mcpURL, tok)
	if resp := send(t, mcpURL, tok, http.MethodPost, "initialize", ""); resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("a third session over --max-sessions 2: %d, want 503", resp.StatusCode)
	}
	resp := rawCall(t, mcpURL, tok, "crash", "Mcp-Session-Id", crashing, "Mcp-Protocol-Version", "2025-06-18")
	body, _ := io.ReadAll(resp.Body)
	if !strings.Contains(string(body), `"error":{"code":-32603,"message":"the MCP server process behind this gateway has ended"}`) {
		t.Fatalf("the call that crashed its process: %d %s", resp.StatusCode, body)
	}
	waitUntil(t, func() bool {
		return send(t, mcpURL, tok, http.MethodPost, "tools/list", crashing).StatusCode == http.StatusNotFound
	})
	if resp := send(t, mcpURL, tok, http.MethodPost, "tools/list", staying); resp.StatusCode != http.StatusOK {
		t.Fatalf("the other session after the crash: %d", resp.StatusCode)
	}
	if !strings.Contains(logs.String(), "crashing on purpose") || !strings.Contains(logs.String(), "mcp_session="+crashing) {
		t.Fatalf("the process's stderr is not in the log with its session:\n%s", logs.String())
	}
	// The last request's end counts as use, and may be marked just after
	// its answer reached the client: advance past the idle TTL until it has.
	waitUntil(t, func() bool {
		clock.Advance(2 * time.Minute)
		return send(t, mcpURL, tok, http.MethodPost, "tools/list", staying).StatusCode == http.StatusNotFound
	})
	waitUntil(t, func() bool { return strings.Count(logs.String(), "MCP server process ended") == 2 })
}

func waitUntil(t *testing.T, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !ok(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
	}
}

// A process that stops reading its input fills the pipe, and the request
// writing to it waits. That wait ends with the request: when the server
// stops, it ends the request's context and the write gives up, so the
// shutdown finishes within its grace (the stack's cleanup fails the test
// on a shutdown that ran out of time, naming what held it).
func TestStdio_AProcessThatStopsReadingHoldsNoRequest(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, func(c *resource.Config) { c.Command = []string{os.Args[0], "stdio-deaf-server"} })
	mcpURL := stack.Resource.URL()
	id := initialize(t, mcpURL, tok)
	big := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"pad":"` + strings.Repeat("x", 900<<10) + `"}}}`
	answered := make(chan int, 1)
	go func() {
		// No client timeout: the request stays until the server ends it.
		resp, err := http.DefaultClient.Do(testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(big)))
		if err != nil {
			answered <- 0
			return
		}
		resp.Body.Close()
		answered <- resp.StatusCode
	}()
	select {
	case status := <-answered:
		t.Fatalf("answered %d though the process reads nothing", status)
	case <-time.After(time.Second):
	}
}

// A message the process does not take within --proxy-timeout is answered
// 504, like an answer that does not come; the process's input, cut
// mid-message, has ended, so the session's next request gets 502.
func TestStdio_AMessageTheProcessDoesNotTakeTimesOut(t *testing.T) {
	t.Parallel()
	stack, _, tok := stdioStack(t, func(c *resource.Config) {
		c.Command, c.ProxyTimeout = []string{os.Args[0], "stdio-deaf-server"}, time.Second
	})
	mcpURL := stack.Resource.URL()
	id := initialize(t, mcpURL, tok)
	big := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x","arguments":{"pad":"` + strings.Repeat("x", 900<<10) + `"}}}`
	resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(big)))
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusGatewayTimeout || !strings.Contains(string(body), "did not take the message within 1s") {
		t.Fatalf("a message the process does not take: %d %s", resp.StatusCode, body)
	}
	next := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(`{"jsonrpc":"2.0","id":3,"method":"ping"}`)))
	if next.StatusCode != http.StatusBadGateway {
		t.Fatalf("next request = %d, want 502 (the process's input has ended)", next.StatusCode)
	}
}
