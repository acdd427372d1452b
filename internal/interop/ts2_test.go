package interop_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// ts2Result is what .ci/interop/ts2-client.mjs prints.
type ts2Result struct {
	Version        string          `json:"version"`
	Era            string          `json:"era"`
	Tools          []string        `json:"tools"`
	Called         json.RawMessage `json:"called"`
	CalledError    bool            `json:"calledError"`
	StepUp         string          `json:"stepUp"`
	Written        json.RawMessage `json:"written"`
	WrittenError   bool            `json:"writtenError"`
	TokensDiffer   bool            `json:"tokensDiffer"`
	InitializeSent bool            `json:"initializeSent"`
	SessionSent    bool            `json:"sessionSent"`
	ModernRequests int             `json:"modernRequests"`
}

// runTS2Client runs the TypeScript SDK v2 client against mcpURL in mode
// (auto or pin): sign-in, tools/list, a call of read, a call of write
// after a step-up.
func runTS2Client(t *testing.T, dir, mcpURL, mode, read, write, writeArgs string) ts2Result {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := run(t, time.Minute, []string{"TMCP_BROWSER=" + self}, node(dir), filepath.Join(dir, "ts2-client.mjs"), mcpURL, mode, read, write, writeArgs)
	if err != nil {
		t.Fatalf("TypeScript SDK v2 client (%s): %v\n%s", mode, err, out)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	var got ts2Result
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &got); err != nil {
		t.Fatalf("TypeScript SDK v2 client output: %v\n%s", err, out)
	}
	return got
}

// startTS2Server runs a strict 2026-07-28 server made with the v2 SDK
// (.ci/interop/ts2-server.mjs) and returns its MCP URL.
func startTS2Server(t *testing.T, dir string) string {
	t.Helper()
	port := testkit.FreePort(t)
	runNodeServer(t, dir, "the v2 server", port, []string{fmt.Sprintf("PORT=%d", port)}, filepath.Join(dir, "ts2-server.mjs"))
	return fmt.Sprintf("http://localhost:%d/mcp", port)
}

// writePolicy makes tool need write, so that calling it steps up.
func writePolicy(c *resource.Config, tool string) {
	p, err := resource.ParseScopePolicy([]string{tool + "=write"})
	if err != nil {
		panic(err)
	}
	c.ToolPolicy = p
}

// TestTypeScriptSDKv2Client_EveryGatewayMode drives the TypeScript SDK v2
// client, negotiating (auto) and pinned to 2026-07-28, through every way
// tmcp serves MCP: the built-in server, the HTTP gateway in front of a
// strict 2026-07-28 server and of a 2025 one, the gateway to a legacy SSE
// server and the stdio gateway. Each signs in, lists and calls tools and
// steps up; pinned, it speaks 2026-07-28 from the first request to the
// last (no initialize, no session), whatever the backend speaks.
func TestTypeScriptSDKv2Client_EveryGatewayMode(t *testing.T) {
	dir := interopDir(t)
	script := everythingScript(dir)
	type way struct {
		name   string
		mutate func(*resource.Config)
		// read is a tool the first sign-in may call; write one that
		// needs write, called with writeArgs.
		read, write, writeArgs string
	}
	everything := func(c *resource.Config) { writePolicy(c, "echo") }
	ways := []way{
		{"built-in", nil, "whoami", "create_task", `{"title":"from the v2 client"}`},
		{"stdio gateway", func(c *resource.Config) { c.Command = []string{node(dir), script, "stdio"}; everything(c) }, "get-env", "echo", `{"message":"hi"}`},
		{"HTTP gateway, 2025 backend", func(c *resource.Config) {
			c.Proxy = fmt.Sprintf("http://localhost:%d/mcp", startEverything(t, dir, "streamableHttp"))
			everything(c)
		}, "get-env", "echo", `{"message":"hi"}`},
		{"HTTP gateway, 2026-07-28 backend", func(c *resource.Config) { c.Proxy = startTS2Server(t, dir); everything(c) }, "get-env", "echo", `{"message":"hi"}`},
		{"SSE gateway", func(c *resource.Config) {
			c.Proxy = fmt.Sprintf("http://localhost:%d/sse", startEverything(t, dir, "sse"))
			everything(c)
		}, "get-env", "echo", `{"message":"hi"}`},
	}
	for _, w := range ways {
		t.Run(strings.ReplaceAll(w.name, " ", "_"), func(t *testing.T) {
			stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: w.mutate})
			for _, mode := range []string{"auto", "pin"} {
				got := runTS2Client(t, dir, stack.Resource.URL(), mode, w.read, w.write, w.writeArgs)
				t.Logf("%s, %s: %+v", w.name, mode, got)
				switch {
				case got.Version != "2026-07-28" || got.Era != "modern":
					t.Errorf("%s: negotiated %q (%s), want 2026-07-28", mode, got.Version, got.Era)
				case got.InitializeSent || got.SessionSent:
					t.Errorf("%s: the client sent initialize (%v) or a session id (%v)", mode, got.InitializeSent, got.SessionSent)
				case len(got.Tools) == 0 || got.CalledError || len(got.Called) == 0:
					t.Errorf("%s: tools %v, %s answered %v (error %v)", mode, got.Tools, w.read, got.Called, got.CalledError)
				case got.StepUp != "read write" || !got.TokensDiffer:
					t.Errorf("%s: step-up asked for %q (new token %v), want read write", mode, got.StepUp, got.TokensDiffer)
				case got.WrittenError || len(got.Written) == 0:
					t.Errorf("%s: %s after the step-up answered %v", mode, w.write, got.Written)
				}
			}
		})
	}
}

func (r ts2Result) String() string {
	out, _ := json.Marshal(r)
	return string(out)
}
