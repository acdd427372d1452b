package flow

import (
	"io"
	"os"
	"os/exec"

	"github.com/pkg/browser"
)

// OpenBrowser opens url in the user's browser: the program named by
// $BROWSER when set (as many tools honour), else the desktop's default.
func OpenBrowser(url string) error {
	if b := os.Getenv("BROWSER"); b != "" {
		cmd := exec.Command(b, url)
		cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
		if err := cmd.Start(); err != nil {
			return err
		}
		go cmd.Wait() //nolint:errcheck // the browser outlives nothing we wait on
		return nil
	}
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}
