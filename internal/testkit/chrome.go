package testkit

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// ChromePath finds a Chromium binary, or skips the test (fails it under CI,
// where .ci/run installs Debian's chromium).
func ChromePath(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("Chromium is not installed; .ci/run installs Debian's chromium package")
	}
	t.Skip("Chromium is not installed (apt-get install chromium)")
	return ""
}

// Chrome is a headless Chromium that signs in like a person: it clicks
// through tmcp's consent page, the TaskManager login and TaskManager's
// consent, and keeps a screenshot of every page it saw.
type Chrome struct {
	ctx      context.Context
	cancel   func()
	ShotsDir string
	shots    []string
}

// NewChrome starts Chromium with a fresh profile; it stops with the test.
func NewChrome(t testing.TB) *Chrome {
	t.Helper()
	path := ChromePath(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(allocCtx)
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		t.Fatalf("start Chromium: %v", err)
	}
	c := &Chrome{ctx: ctx, cancel: func() { cancelCtx(); cancelAlloc() }, ShotsDir: t.TempDir()}
	t.Cleanup(c.cancel)
	return c
}

// SignIn opens authURL and clicks through to the client's callback page,
// which must show an element #result.
func (c *Chrome) SignIn(authURL string) error {
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(authURL)); err != nil {
		return fmt.Errorf("open %s: %w", authURL, err)
	}
	has := func(sel string) bool {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.querySelector('`+sel+`') !== null`))
		return err == nil && ok
	}
	for step := 0; step < 6; step++ {
		if err := chromedp.Do(ctx, chromedp.WaitReady("body")); err != nil {
			return err
		}
		loc, _ := chromedp.Run(ctx, chromedp.Location())
		c.screenshot(ctx, fmt.Sprintf("%02d", step))
		switch {
		case has("#result"):
			text, err := chromedp.Run(ctx, chromedp.Text("#result"))
			if err != nil {
				return err
			}
			if strings.Contains(text, "failed") {
				return fmt.Errorf("the callback page says: %s", text)
			}
			return nil
		case has("#login"):
			if err := chromedp.Do(ctx, markDocument,
				chromedp.SendKeys("#email", DemoEmail), chromedp.SendKeys("#password", DemoPassword),
				chromedp.Click("#login"), waitNewDocument); err != nil {
				return fmt.Errorf("log in at %s: %w", loc, err)
			}
		case has("#approve"):
			if err := chromedp.Do(ctx, markDocument, chromedp.Click("#approve"), waitNewDocument); err != nil {
				return fmt.Errorf("approve at %s: %w", loc, err)
			}
		default:
			body, _ := chromedp.Run(ctx, chromedp.Text("body"))
			return fmt.Errorf("stuck at %s: %.300s", loc, body)
		}
	}
	return fmt.Errorf("the sign-in did not reach the callback page")
}

// markDocument tags the current document; waitNewDocument waits until a
// navigation has replaced it (a form post may land on the same URL).
var markDocument = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	_, err := chromedp.Evaluate[any](`window.__tmcpOld = true`)(ctx, t)
	return err
})

var waitNewDocument = chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
	for {
		fresh, err := chromedp.Evaluate[bool](`window.__tmcpOld !== true && document.readyState === 'complete'`)(ctx, t)
		if err == nil && fresh {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
})

func (c *Chrome) screenshot(ctx context.Context, name string) {
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100 means PNG
	if err != nil {
		return
	}
	p := filepath.Join(c.ShotsDir, name+".png")
	if os.WriteFile(p, png, 0o644) == nil {
		c.shots = append(c.shots, p)
	}
}

// Screenshots lists the pages captured so far.
func (c *Chrome) Screenshots() []string { return c.shots }
