package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/forward"
	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/telemetry"
)

// httpBackend passes requests on to a Streamable HTTP MCP server, with
// who the caller is in headers.
type httpBackend struct {
	url  *url.URL
	opts Options
	fwd  *forward.Forwarder
	now  func() time.Time

	// What the backend speaks (httpbridge.go): a 2025 server gets the
	// requests of 2026-07-28 clients over bridge's backend sessions.
	eraMu    sync.Mutex
	modern   bool
	eraUntil time.Time
	bridge   *sessionBridge
}

// NewHTTP is a backend that speaks Streamable HTTP at backend.
func NewHTTP(backend string, opts Options) (Backend, error) {
	u, err := ParseURL(backend)
	if err != nil {
		return nil, err
	}
	fwd, err := forward.New(u, forward.Options{DialTimeout: min(opts.Timeout, 5*time.Second), HeaderTimeout: opts.Timeout, MaxIdle: 256})
	if err != nil {
		return nil, err
	}
	g := &httpBackend{url: u, opts: opts, fwd: fwd, now: time.Now}
	g.bridge = newSessionBridge(opts, "session", u.Redacted(), g.Ready, g.dialStreamable)
	return g, nil
}

// ParseURL checks a backend's URL: http or https, with a host.
func ParseURL(backend string) (*url.URL, error) {
	u, err := url.Parse(backend)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q: want the MCP server's http(s) URL, like http://127.0.0.1:3000/mcp", backend)
	}
	return u, nil
}

func (g *httpBackend) Name() string { return g.url.Redacted() }

func (g *httpBackend) ServeMCP(w http.ResponseWriter, r *http.Request, req *Request) {
	ctx := r.Context()
	extra, ok := req.Identity(w, r, r.Header.Get(mcpmsg.HeaderSessionID))
	if !ok {
		return
	}
	if m, version, ok := modernRequest(r.Header, req.Body); ok && r.Method == http.MethodPost && r.Header.Get(mcpmsg.HeaderSessionID) == "" {
		modern, err := g.speaksModern(ctx, req.Caller, extra)
		if err != nil {
			g.failed(w, r, err)
			return
		}
		if !modern {
			g.bridge.serveModern(w, r.WithContext(context.WithValue(ctx, identityKey{}, extra)), req, m, version)
			return
		}
	}
	var body []byte // GET and DELETE carry none
	if req.Body != nil {
		body = req.Body.Raw // the bytes the resource server judged
	}
	ids := make(http.Header, 8)
	setIdentity(ids, req.Caller, extra)
	// The backend call is a span of its own; the backend gets its
	// traceparent, never the client's (strippedHeaders).
	ctx, span := telemetry.StartClient(ctx, r.Method, g.url.Host)
	telemetry.Inject(ctx, ids)
	if body != nil {
		body = withTraceparent(req.Body, telemetry.Traceparent(ctx)) // 2026-07-28: in _meta too
	}
	resp, err := g.fwd.Do(ctx, &forward.Request{Method: r.Method, Header: r.Header, Exclude: excluded(r.Header), Extra: ids,
		Body: body, RawQuery: r.URL.RawQuery})
	if err != nil {
		telemetry.EndClient(span, 0, err)
		g.failed(w, r, err)
		return
	}
	telemetry.EndClient(span, resp.StatusCode, nil)
	defer resp.Body.Close()
	resp.Request = r
	if err := g.track(resp, req); err != nil {
		g.failed(w, r, err)
		return
	}
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	w.WriteHeader(resp.StatusCode)
	g.copyBody(w, resp)
}

// copyBuffers are the buffers answers are copied through.
var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 32*1024); return &b }}

// copyBody sends the backend's answer on: a sized JSON answer as it
// comes, a stream (SSE, or a body of unknown length) flushed after every
// read, so each event reaches the client when the backend sends it.
func (g *httpBackend) copyBody(w http.ResponseWriter, resp *http.Response) {
	bp := copyBuffers.Get().(*[]byte)
	defer copyBuffers.Put(bp)
	buf := *bp
	flusher, _ := w.(http.Flusher)
	if resp.ContentLength >= 0 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		flusher = nil
	}
	for {
		n, err := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return // the client went away
			}
			if flusher != nil {
				flusher.Flush()
			}
		}
		if err != nil {
			if err != io.EOF && resp.Request.Context().Err() == nil {
				g.opts.Log.WarnContext(resp.Request.Context(), "backend MCP server's answer broke off", "backend", g.url.Redacted(), "err", err)
				panic(http.ErrAbortHandler) // the client must see the answer end early, not a whole one
			}
			return
		}
	}
}

// track leaves tools out of the answer the caller may not see, binds the
// session the backend opens to the caller whose request opened it, and
// forgets a session the client ended.
func (g *httpBackend) track(resp *http.Response, req *Request) error {
	r := resp.Request
	limit := g.opts.maxMessage()
	switch {
	case req.Visible != nil:
		// Every answer, on every stream and of any status: a tools/list
		// answer may come on a stream resumed with GET.
		if err := hideInResponse(resp, req.Visible, limit, oneID(req.Body)); err != nil {
			return err
		}
	case resp.ContentLength > int64(limit) && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream"):
		resp.Body.Close()
		resp.Header.Set("Content-Type", "application/json")
		replaceBody(resp, tooLarge(oneID(req.Body), limit))
	}
	if resp.StatusCode/100 != 2 {
		return nil
	}
	sent, minted := r.Header.Get(mcpmsg.HeaderSessionID), resp.Header.Get(mcpmsg.HeaderSessionID)
	switch {
	case r.Method == http.MethodDelete:
		g.opts.Sessions.Remove(sent)
	case minted != "" && sent == "":
		// Bound to its caller whatever opened it; a client cannot name a
		// session the gateway did not see minted.
		g.opts.Sessions.Add(r.Context(), minted, req.Caller)
	}
	return nil
}

// oneID is the id of body's one request, or nil.
func oneID(body *mcpmsg.Body) []byte {
	if body == nil || body.Batch || len(body.Messages) != 1 || body.Messages[0].Kind != mcpmsg.KindRequest {
		return nil
	}
	return body.Messages[0].ID
}

// failed answers for a backend that is down or too slow: a JSON-RPC error
// with a clear message, 502 or 504, never a hang.
func (g *httpBackend) failed(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusBadGateway, "the MCP server behind this gateway is not reachable"
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout() {
		status, msg = http.StatusGatewayTimeout, fmt.Sprintf("the MCP server behind this gateway did not answer within %s", g.opts.Timeout)
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return // the client went away
	}
	g.opts.Log.WarnContext(r.Context(), "backend MCP server failed", "backend", g.url.Redacted(), "err", err)
	rpcError(w, status, mcpmsg.CodeInternalError, msg)
}

// SessionEnded leaves a client's session to the server, which expires
// its own, and ends a backend session the gateway opened.
func (g *httpBackend) SessionEnded(id string) { g.bridge.SessionEnded(id) }

func (g *httpBackend) Ready(ctx context.Context) error { return dialable(ctx, g.url) }

func (g *httpBackend) Close() {
	g.bridge.Close()
	g.fwd.Close()
}

// dialable checks that u's host accepts connections.
func dialable(ctx context.Context, u *url.URL) error {
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("the MCP server behind this gateway (%s) is not reachable", u.Redacted())
	}
	return conn.Close()
}
