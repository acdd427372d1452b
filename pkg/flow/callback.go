package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/httpx"
)

// callbackServer catches the authorization response on a loopback port
// (RFC 8252 §7.3) and shuts down once it has it.
type callbackServer struct {
	ln     net.Listener
	srv    *http.Server
	result chan url.Values
	once   sync.Once
}

func listenCallback(port int) (*callbackServer, error) {
	ln, err := net.Listen("tcp", fmt.Sprintf("localhost:%d", port))
	if err != nil {
		return nil, fmt.Errorf("cannot listen for the callback on localhost:%d: %w (choose another with --callback-port)", port, err)
	}
	c := &callbackServer{ln: ln, result: make(chan url.Values, 1)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		c.once.Do(func() { c.result <- q })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Referrer-Policy", "no-referrer")
		msg := "Signed in. You can close this window and return to the terminal."
		if q.Get("error") != "" {
			msg = "The sign-in failed (" + q.Get("error") + "). Return to the terminal for details."
		}
		fmt.Fprintf(w, "<!doctype html><title>tmcp flow test</title><p id=\"result\">%s</p>", msg)
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
		return nil, fmt.Errorf("%w after %s", errBrowserTimeout, timeout)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *callbackServer) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = c.srv.Shutdown(ctx)
}
