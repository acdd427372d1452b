package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/ui"
	"github.com/tmcp-dev/tmcp/internal/web"
)

// callbackServer catches authorization responses on a loopback port
// (RFC 8252 §7.3): one for each sign-in of the run, step-ups included.
type callbackServer struct {
	ln     net.Listener
	srv    *http.Server
	result chan url.Values
}

func listenCallback(port int) (*callbackServer, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("localhost:%d", port))
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the callback on localhost:%d: %w (choose another with --callback-port)", port, err)
	}
	c := &callbackServer{ln: ln, result: make(chan url.Values, 1)}
	pages := web.ParsePages(nil, "")
	mux := http.NewServeMux()
	mux.Handle("GET /assets/", web.Assets())
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		select {
		case c.result <- q:
		default: // a callback nobody waits for (a reload) is dropped
		}
		w.Header().Set("Cache-Control", "no-store")
		page := web.Page{Brand: "tmcp flow test", Title: "Signed in", Message: "You can close this window and return to the terminal."}
		if e := q.Get("error"); e != "" {
			// Only the error code, which flow test checks, is shown: the
			// description comes from a server and is read in the terminal.
			page.Title, page.Message = "Sign-in failed", "The authorization server answered "+errorCode(e)+"."
			page.Detail = "Return to the terminal for details."
		}
		pages.Render(w, "notice", http.StatusOK, page)
	})
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// RedirectURI is the URI the authorization server sends the browser to.
func (c *callbackServer) RedirectURI() string {
	return httpx.ListenerURL(c.ln, false) + "/callback"
}

var errBrowserTimeout = errors.New("timed out waiting for the browser to come back")

// wait returns the callback's query, or fails after timeout.
func (c *callbackServer) wait(ctx context.Context, timeout time.Duration) (url.Values, error) {
	t := time.NewTimer(timeout)
	defer t.Stop()
	select {
	case q := <-c.result:
		return q, nil
	case <-t.C:
		return nil, fmt.Errorf("%w after %s", errBrowserTimeout, ui.Duration(timeout))
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// drain drops callbacks that arrived before a sign-in began.
func (c *callbackServer) drain() {
	for {
		select {
		case <-c.result:
		default:
			return
		}
	}
}

func (c *callbackServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
}

// errorCode keeps an error code to the characters RFC 6749 allows in it.
func errorCode(s string) string {
	out := []rune{}
	for _, r := range s {
		if r >= 0x20 && r <= 0x7e && r != '"' && r != '\\' {
			out = append(out, r)
		}
		if len(out) == 64 {
			break
		}
	}
	return string(out)
}
