package flow

import (
	"log/slog"
	"net/http"
	"time"
)

// logTransport logs each HTTP exchange of a run at debug level: method,
// the URL without its query (where codes and states travel) and status.
// Headers and bodies, with their tokens, are never logged.
type logTransport struct {
	base http.RoundTripper
	log  *slog.Logger
}

func (t *logTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	u := *req.URL
	u.RawQuery, u.Fragment, u.User = "", "", nil
	if err != nil {
		t.log.DebugContext(req.Context(), "flow request failed", "method", req.Method, "url", u.String(), "err", err)
		return resp, err
	}
	t.log.DebugContext(req.Context(), "flow request", "method", req.Method, "url", u.String(), "status", resp.StatusCode, "took", time.Since(start).Round(time.Millisecond))
	return resp, err
}
