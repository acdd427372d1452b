package flow_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/flow"
	"github.com/tmcp-dev/tmcp/pkg/testkit"
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
