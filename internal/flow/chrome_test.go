package flow_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	"github.com/tmcp-dev/tmcp/internal/flow"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// TestRun_InARealBrowser has headless Chromium play the user: the browser
// step of flow test goes through tmcp's consent page, the sandbox login
// and the sandbox consent by clicking them, and the flow finishes with
// successful tool calls. On failure the pages are kept as screenshots.
func TestRun_InARealBrowser(t *testing.T) {
	chrome := testkit.NewChrome(t)
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true})
	var browserErr error
	var pages []int // pages each sign-in went through
	report := flow.Run(context.Background(), flow.Options{
		Server: stack.Resource.URL(), Timeout: 60 * time.Second,
		// The person signs in before Open returns; flow test then finds
		// the callback waiting.
		Open: func(u string) error {
			before := len(chrome.Screenshots())
			browserErr = errors.Join(browserErr, chrome.SignIn(u))
			pages = append(pages, len(chrome.Screenshots())-before)
			return nil
		},
	})
	if browserErr != nil || !report.OK {
		keep, _ := os.MkdirTemp("", "tmcp-chrome-")
		for _, shot := range chrome.Screenshots() {
			data, _ := os.ReadFile(shot)
			_ = os.WriteFile(filepath.Join(keep, filepath.Base(shot)), data, 0o644)
		}
		t.Fatalf("browser: %v\nflow: %s\nfailed step: %+v\nscreenshots of each page: %s", browserErr, names(report), report.Failed(), keep)
	}
	// The first sign-in, then the step-up to write for create_task: tmcp's
	// consent for the new scope, TaskManager's consent, the callback (the
	// TaskManager session is still there).
	if len(pages) != 2 || pages[0] != 4 || pages[1] != 3 {
		t.Fatalf("pages of each sign-in: %v, want [4 3] (tmcp consent, login, TaskManager consent, callback; then no login)", pages)
	}
	if s := report.Step("create_task"); s == nil || !strings.Contains(s.Detail, "after stepping up to read write") {
		t.Fatalf("create_task step = %+v", s)
	}
	for _, s := range report.Steps {
		if s.Name == "whoami" && s.Detail == "" {
			t.Fatal("whoami reported nothing")
		}
	}
	if dir := os.Getenv("TMCP_SCREENSHOTS"); dir != "" {
		for _, shot := range chrome.Screenshots() {
			data, _ := os.ReadFile(shot)
			_ = os.WriteFile(filepath.Join(dir, filepath.Base(shot)), data, 0o644)
		}
	}
}

// TestMain lets the test binary play a team's stdio MCP server.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == "stdio-mcp-server" {
		s := server.NewMCPServer("team-notes-stdio", "1.0.0")
		s.AddTool(mcp.NewTool("hello"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			return mcp.NewToolResultText("hello " + os.Getenv("TMCP_EMAIL")), nil
		})
		_ = server.ServeStdio(s)
		return
	}
	os.Exit(m.Run())
}

// TestRun_StdioServerBehindTheGatewayInARealBrowser: headless Chromium
// signs in through the stack with a stdio MCP server behind the gateway,
// and flow test calls that server's tool, which learns the user from its
// process's environment.
func TestRun_StdioServerBehindTheGatewayInARealBrowser(t *testing.T) {
	chrome := testkit.NewChrome(t)
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
		c.Command = []string{os.Args[0], "stdio-mcp-server"}
	}})
	var browserErr error
	report := flow.Run(context.Background(), flow.Options{
		Server: stack.Resource.URL(), Timeout: 60 * time.Second, Calls: []string{"hello"},
		Open: func(u string) error { browserErr = errors.Join(browserErr, chrome.SignIn(u)); return nil },
	})
	if browserErr != nil || !report.OK {
		t.Fatalf("browser: %v\nflow: %s\nfailed step: %+v", browserErr, names(report), report.Failed())
	}
	if s := report.Step("hello"); s == nil || !strings.Contains(s.Detail, `"hello demo@example.com"`) {
		t.Fatalf("hello step = %+v", s)
	}
	if s := report.Step("initialize"); s == nil || !strings.Contains(s.Detail, "team-notes-stdio") {
		t.Fatalf("initialize step = %+v", s)
	}
}
