package flow_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
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
	var wg sync.WaitGroup
	var browserErr error
	report := flow.Run(context.Background(), flow.Options{
		Server: stack.Resource.URL(), Timeout: 60 * time.Second,
		Open: func(u string) error {
			wg.Add(1)
			go func() {
				defer wg.Done()
				browserErr = chrome.SignIn(u)
			}()
			return nil
		},
	})
	wg.Wait()
	if browserErr != nil || !report.OK {
		keep, _ := os.MkdirTemp("", "tmcp-chrome-")
		for _, shot := range chrome.Screenshots() {
			data, _ := os.ReadFile(shot)
			_ = os.WriteFile(filepath.Join(keep, filepath.Base(shot)), data, 0o644)
		}
		t.Fatalf("browser: %v\nflow: %s\nfailed step: %+v\nscreenshots of each page: %s", browserErr, names(report), report.Failed(), keep)
	}
	if n := len(chrome.Screenshots()); n != 4 {
		t.Fatalf("saw %d pages, want 4 (tmcp consent, login, TaskManager consent, callback)", n)
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
