package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"github.com/tmcp-dev/tmcp/pkg/httpx"
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
	mux := http.NewServeMux()
	mux.HandleFunc("GET /callback", func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		select {
		case c.result <- q:
		default: // a callback nobody waits for (a reload) is dropped
		}
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
