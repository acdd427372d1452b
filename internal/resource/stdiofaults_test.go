package resource_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// unrulyServer is a stdio MCP server that misbehaves on request: it
// floods its stderr, answers with messages of any size, starts children
// that hold its output (as a wrapper like npx does), and crashes.
func unrulyServer() {
	m := server.NewMCPServer("unruly", "1.0.0")
	m.AddTool(mcp.NewTool("noise"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		long := strings.Repeat("L", 100<<10) // one line over 64 KiB
		fmt.Fprintln(os.Stderr, long)
		line := strings.Repeat("n", 1023)
		for range 20 << 10 { // 20 MiB more, in 1 KiB lines
			fmt.Fprintln(os.Stderr, line)
		}
		return mcp.NewToolResultText("noisy"), nil
	})
	m.AddTool(mcp.NewTool("big"), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(strings.Repeat("b", req.GetInt("bytes", 0))), nil
	})
	m.AddTool(mcp.NewTool("spawn"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var pids []string
		for range 2 {
			child := exec.Command(os.Args[0], "stdio-sleeper")
			child.Stdout, child.Stderr = os.Stdout, os.Stderr // it holds the server's output
			if err := child.Start(); err != nil {
				return nil, err
			}
			pids = append(pids, fmt.Sprint(child.Process.Pid))
		}
		return mcp.NewToolResultText(strings.Join(pids, " ")), nil
	})
	m.AddTool(mcp.NewTool("crash"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		os.Exit(3)
		return nil, nil
	})
	m.AddTool(mcp.NewTool("slow"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		time.Sleep(time.Hour)
		return nil, nil
	})
	_ = server.ServeStdio(m)
}

func unrulyStack(t *testing.T, mutate func(*resource.Config)) (*testkit.Stack, string) {
	t.Helper()
	stack, _, tok := stdioStack(t, func(c *resource.Config) {
		// A machine under load starts race-built processes slowly.
		c.Command, c.ProxyTimeout = []string{os.Args[0], "stdio-unruly-server"}, 20*time.Second
		if mutate != nil {
			mutate(c)
		}
	})
	return stack, tok
}

// open opens a session, waiting as long as its process takes to start.
func open(t *testing.T, mcpURL, tok string) string {
	t.Helper()
	body := `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"` + testkit.MCPVersion + `","capabilities":{},"clientInfo":{"name":"t","version":"1"}}}`
	resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, "", strings.NewReader(body)))
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK || id == "" {
		t.Fatalf("initialize: %d, session %q", resp.StatusCode, id)
	}
	return id
}

// callTool calls tool with args in session id and returns the HTTP status
// and body.
func callTool(t *testing.T, mcpURL, tok, id, tool, args string) (int, string) {
	t.Helper()
	body := fmt.Sprintf(`{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":%q,"arguments":%s}}`, tool, args)
	resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, tok, id, strings.NewReader(body)))
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A process's stderr is read to its end whatever it writes: a line over
// 64 KiB and 20 MiB more neither block the process nor end its session,
// and what reaches the log is bounded per session, the rest counted.
func TestStdio_StderrIsDrainedAndItsLogBounded(t *testing.T) {
	// Not parallel: its load would slow the package's other tests past
	// their short timeouts.
	logs := &testkit.LogBuffer{}
	stack, tok := unrulyStack(t, func(c *resource.Config) { c.Logger = testkit.Logger(logs) })
	mcpURL := stack.Resource.URL()
	id := open(t, mcpURL, tok)
	if status, body := callTool(t, mcpURL, tok, id, "noise", "{}"); status != http.StatusOK || !strings.Contains(body, "noisy") {
		t.Fatalf("a call whose process floods its stderr: %d %.300s", status, body)
	}
	if status, body := callTool(t, mcpURL, tok, id, "big", `{"bytes":10}`); status != http.StatusOK || !strings.Contains(body, "bbbbbbbbbb") {
		t.Fatalf("the session after the flood: %d %.300s", status, body)
	}
	waitUntil(t, func() bool { return strings.Contains(logs.String(), "stderr over the log's rate left out") })
	if n := len(logs.String()); n > 2<<20 {
		t.Fatalf("21 MiB of stderr made %d bytes of log", n)
	}
	if !strings.Contains(logs.String(), "MCP server process: "+strings.Repeat("L", 4000)) {
		t.Fatal("the long line is not in the log, in parts")
	}
}

// An answer over --max-message-size fails that call alone, with a
// JSON-RPC error, and the session goes on; under it, an answer of several
// MiB passes whole.
func TestStdio_AnAnswerOverTheMessageLimitFailsOnlyItsCall(t *testing.T) {
	// Not parallel: its load would slow the package's other tests past
	// their short timeouts.
	stack, tok := unrulyStack(t, func(c *resource.Config) { c.MaxMessage = 6 << 20 })
	mcpURL := stack.Resource.URL()
	id := open(t, mcpURL, tok)
	status, body := callTool(t, mcpURL, tok, id, "big", `{"bytes":5000000}`)
	if status != http.StatusOK || strings.Count(body, "b") < 5000000 {
		t.Fatalf("a 5 MB answer: %d %.300s (%d bytes)", status, body, len(body))
	}
	status, body = callTool(t, mcpURL, tok, id, "big", `{"bytes":7000000}`)
	if status != http.StatusOK || !strings.Contains(body, `"id":7,"error":{"code":-32603,"message":"the MCP server behind this gateway answered with a message over 6291456 bytes (--max-message-size)"}`) {
		t.Fatalf("a 7 MB answer over a 6 MiB limit: %d %.300s", status, body)
	}
	if status, body := callTool(t, mcpURL, tok, id, "big", `{"bytes":10}`); status != http.StatusOK || !strings.Contains(body, "bbbbbbbbbb") {
		t.Fatalf("the session after the answer over the limit: %d %.300s", status, body)
	}
}

// gone reports whether no process pid exists any more, not even as a
// zombie waiting to be reaped.
func gone(pid string) bool {
	var n int
	fmt.Sscan(pid, &n)
	return n > 0 && syscall.Kill(n, 0) == syscall.ESRCH
}

// What a stdio server starts (its process group) ends with its session,
// reaped: when the client ends the session, and when the server crashes
// while its children hold its output, which then ends the call at once
// instead of after --proxy-timeout.
func TestStdio_ChildrenEndWithTheirSession(t *testing.T) {
	t.Parallel()
	stack, tok := unrulyStack(t, nil)
	mcpURL := stack.Resource.URL()
	spawn := func(id string) []string {
		status, body := callTool(t, mcpURL, tok, id, "spawn", "{}")
		var res struct {
			Result struct{ Content []struct{ Text string } }
		}
		if status != http.StatusOK || decode(body, &res) != nil || len(res.Result.Content) != 1 {
			t.Fatalf("spawn: %d %s", status, body)
		}
		return strings.Fields(res.Result.Content[0].Text)
	}
	allGone := func(pids []string) func() bool {
		return func() bool {
			for _, p := range pids {
				if !gone(p) {
					return false
				}
			}
			return true
		}
	}

	t.Run("Delete", func(t *testing.T) {
		id := open(t, mcpURL, tok)
		pids := spawn(id)
		if resp := send(t, mcpURL, tok, http.MethodDelete, "", id); resp.StatusCode != http.StatusOK {
			t.Fatalf("DELETE: %d", resp.StatusCode)
		}
		waitUntil(t, allGone(pids))
	})
	t.Run("Crash", func(t *testing.T) {
		id := open(t, mcpURL, tok)
		pids := spawn(id)
		if status, body := callTool(t, mcpURL, tok, id, "crash", "{}"); !strings.Contains(body, "the MCP server process behind this gateway has ended") {
			t.Fatalf("the call that crashed its process, its children holding its output: %d %s", status, body)
		}
		waitUntil(t, allGone(pids))
	})
}

// decode reads the JSON-RPC answer in body, sent as JSON or as SSE.
func decode(body string, out any) error {
	if i := strings.LastIndex(body, "data: "); i >= 0 {
		body = body[i+len("data: "):]
	}
	return json.Unmarshal([]byte(body), out)
}

// The real tmcp, in front of a stdio server whose processes start
// children, stopped with SIGTERM while calls run (answers as JSON and as
// event streams) and a GET stream is open: every call gets a JSON-RPC
// error saying the server is shutting down (503 with Retry-After where
// nothing was sent yet), never an empty 200; the stream ends; tmcp exits
// within its shutdown bound; and nothing the stdio server started is left
// running or unreaped.
func TestShutdown_SIGTERMAnswersCallsInFlightAndLeavesNoProcess(t *testing.T) {
	// Not parallel: its load would slow the package's other tests past
	// their short timeouts.
	ports, err := testkit.FreePorts(1)
	if err != nil {
		t.Fatal(err)
	}
	resURL := fmt.Sprintf("http://127.0.0.1:%d/mcp", ports[0])
	stack := testkit.StartStack(t, testkit.AuthOptions{Mutate: func(c *authserver.Config) { c.Resources[0].Resource = resURL }})
	c := testkit.Discover(t, stack.Auth.URL())
	c.Resource = resURL
	c.RegisterPublic()
	tok := token(t, c, "read")

	var logs testkit.LogBuffer
	cmd := exec.Command(testkit.Binary(t), "serve", "resource", "--host", "127.0.0.1", "--port", fmt.Sprint(ports[0]),
		"--public-url", resURL, "--auth-server", stack.Auth.URL(), "--taskmanager-url", stack.Sandbox.URL(),
		"--introspection-client-id", testkit.ResourceClientID, "--introspection-client-secret", testkit.ResourceSecret,
		"--proxy-timeout", "60s", "--", os.Args[0], "stdio-unruly-server")
	cmd.Env = append(os.Environ(), "XDG_STATE_HOME="+t.TempDir(), "XDG_CONFIG_HOME="+t.TempDir())
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Kill()
		if t.Failed() {
			t.Logf("tmcp:\n%s", logs.String())
		}
	})
	waitUntil(t, func() bool {
		resp, err := http.Get(strings.TrimSuffix(resURL, "/mcp") + "/healthz")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})

	var pids []string
	type answer struct {
		status            int
		retryAfter, ctype string
		body              string
	}
	const calls = 4
	answers := make(chan answer, calls)
	for i := range calls {
		id := open(t, resURL, tok)
		_, body := callTool(t, resURL, tok, id, "spawn", "{}")
		var res struct {
			Result struct{ Content []struct{ Text string } }
		}
		if decode(body, &res) != nil || len(res.Result.Content) != 1 {
			t.Fatalf("spawn: %s", body)
		}
		pids = append(pids, strings.Fields(res.Result.Content[0].Text)...)
		req := testkit.MCPRequest(t, http.MethodPost, resURL, tok, id,
			strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"slow","arguments":{}}}`))
		if i%2 == 0 {
			req.Header.Set("Accept", "application/json")
		}
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				answers <- answer{body: err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			answers <- answer{resp.StatusCode, resp.Header.Get("Retry-After"), resp.Header.Get("Content-Type"), string(b)}
		}()
	}
	streamID := open(t, resURL, tok)
	get := testkit.MCPRequest(t, http.MethodGet, resURL, tok, streamID, nil)
	get.Header.Set("Accept", "text/event-stream")
	stream, err := http.DefaultClient.Do(get)
	if err != nil || stream.StatusCode != http.StatusOK {
		t.Fatalf("GET stream: %v %v", stream, err)
	}
	streamEnded := make(chan error, 1)
	go func() {
		_, err := io.Copy(io.Discard, stream.Body)
		streamEnded <- err
	}()
	time.Sleep(500 * time.Millisecond) // the calls reach their processes

	start := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		took := time.Since(start)
		t.Logf("tmcp stopped %d calls, a stream and %d processes in %s", calls, calls+1, took.Round(10*time.Millisecond))
		if err != nil {
			t.Errorf("tmcp exited with %v", err)
		}
		if took > 15*time.Second {
			t.Errorf("shutdown took %s, past its bound", took)
		}
	case <-time.After(60 * time.Second):
		t.Fatal("tmcp did not exit within a minute of SIGTERM")
	}
	for range calls {
		a := <-answers
		if !strings.Contains(a.body, `"id":9,"error":{"code":-32000,"message":"the server is shutting down`) {
			t.Errorf("a call in flight at SIGTERM: %d %q %q", a.status, a.ctype, a.body)
		}
		if strings.HasPrefix(a.ctype, "application/json") && (a.status != http.StatusServiceUnavailable || a.retryAfter == "") {
			t.Errorf("a call cut off before any of its answer was sent: %d, Retry-After %q; want 503 with Retry-After", a.status, a.retryAfter)
		}
	}
	<-streamEnded
	for _, p := range pids {
		if !gone(p) {
			t.Errorf("process %s, started by the stdio server, outlived tmcp", p)
		}
	}
}
