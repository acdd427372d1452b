package flow

import (
	"io"
	"os"
	"os/exec"
	"strings"

	"github.com/pkg/browser"
)

// OpenBrowser opens url in the user's browser: the command in $BROWSER
// when set (as many tools honour; "%s" stands for the URL, else it is
// appended), else the desktop's default.
func OpenBrowser(url string) error {
	if b := strings.Fields(os.Getenv("BROWSER")); len(b) > 0 {
		args, placed := b[1:], false
		for i, a := range args {
			if strings.Contains(a, "%s") {
				args[i], placed = strings.ReplaceAll(a, "%s", url), true
			}
		}
		if !placed {
			args = append(args, url)
		}
		cmd := exec.Command(b[0], args...)
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
