package interop_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// TestInspectorCLI runs MCP Inspector's CLI (npm @modelcontextprotocol/inspector),
// which does its own OAuth, against a real `tmcp dev`: each call signs in
// (the CLI keeps its secrets in memory for one run), with the browser step
// scripted, then the call's structured result is checked.
func TestInspectorCLI(t *testing.T) {
	dir := interopDir(t)
	mcpURL, _ := startDev(t, testkit.Binary(t))
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(dir, "node_modules", "@modelcontextprotocol", "inspector", "clients", "launcher", "build", "index.js")
	inspect := func(args ...string) map[string]any {
		t.Helper()
		callback := "http://127.0.0.1:" + strconv.Itoa(testkit.FreePort(t)) + "/oauth/callback"
		env := []string{"HOME=" + t.TempDir(), "MCP_AUTO_OPEN_ENABLED=true", "BROWSER=" + self, "TMCP_FAKEBROWSER=1",
			"MCP_INSPECTOR_SECRET_STORE=memory"}
		out, err := run(t, time.Minute, env, node(dir), append([]string{cli, "--cli", mcpURL, "--callback-url", callback, "--format", "json"}, args...)...)
		if err != nil {
			t.Fatalf("inspector %v: %v\n%s", args, err, out)
		}
		var res struct {
			Result map[string]any `json:"result"`
		}
		for _, line := range strings.Split(out, "\n") {
			if strings.HasPrefix(line, `{"result"`) {
				_ = json.Unmarshal([]byte(line), &res)
			}
		}
		if res.Result == nil {
			t.Fatalf("inspector %v printed no result:\n%s", args, out)
		}
		// --strict reports tool-schema portability problems; there are none.
		if strings.Contains(out, "Warning: tool") || strings.Contains(out, "Error: tool") {
			t.Fatalf("inspector %v found schema problems:\n%s", args, out)
		}
		return res.Result
	}
	if tools, _ := inspect("--method", "tools/list", "--strict")["tools"].([]any); len(tools) != 6 {
		t.Fatalf("tools/list = %v", tools)
	}
	who, _ := inspect("--method", "tools/call", "--tool-name", "whoami")["structuredContent"].(map[string]any)
	if who["username"] != testkit.DemoEmail {
		t.Fatalf("whoami = %v", who)
	}
	if tasks, _ := inspect("--method", "tools/call", "--tool-name", "list_tasks")["structuredContent"].(map[string]any); tasks["tasks"] == nil {
		t.Fatalf("list_tasks = %v", tasks)
	}
	created, _ := inspect("--method", "tools/call", "--tool-name", "create_task", "--tool-args-json", `{"title":"from MCP Inspector"}`)["structuredContent"].(map[string]any)
	if created["title"] != "from MCP Inspector" {
		t.Fatalf("create_task = %v", created)
	}
	// The Inspector asks for every scope the MCP server lists up front, so
	// it needs no step-up: whoami shows the scopes it got.
	if scopes, _ := who["scopes"].([]any); len(scopes) != 2 {
		t.Fatalf("whoami scopes = %v, want read and write", who["scopes"])
	}
}
