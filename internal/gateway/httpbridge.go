package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/forward"
	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/sse"
)

// eraTTL is how long what a Streamable HTTP backend speaks is believed
// before it is asked again (a server upgraded in place).
const eraTTL = time.Minute

// speaksModern reports whether the backend serves 2026-07-28 itself: it
// answers server/discover offering it. A 2025 server answers with an
// error, or asks for a session. The answer is kept for eraTTL; a server
// error is a fault, and no answer.
func (g *httpBackend) speaksModern(ctx context.Context, c Caller, extra Identity) (bool, error) {
	g.eraMu.Lock()
	if g.now().Before(g.eraUntil) {
		modern := g.modern
		g.eraMu.Unlock()
		return modern, nil
	}
	g.eraMu.Unlock()
	probe := []byte(`{"jsonrpc":"2.0","id":"tmcp-probe","method":"server/discover","params":{"_meta":{"` + mcpmsg.MetaProtocolVersion +
		`":"` + mcpmsg.FirstStatelessVersion + `","` + metaClientCapabilities + `":{}}}}`)
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"},
		mcpmsg.HeaderProtocolVersion: {mcpmsg.FirstStatelessVersion}, mcpmsg.HeaderMethod: {methodDiscover}}
	ids := make(http.Header, 6)
	setIdentity(ids, c, extra)
	ctx, cancel := context.WithTimeout(ctx, g.opts.Timeout)
	defer cancel()
	resp, err := g.fwd.Do(ctx, &forward.Request{Method: http.MethodPost, Header: h, Extra: ids, Body: probe})
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 500 {
		// A fault is not a verdict: ask again next time.
		return false, fmt.Errorf("the MCP server answered server/discover with %d", resp.StatusCode)
	}
	modern := false
	if resp.StatusCode == http.StatusOK {
		var answer struct {
			Result struct {
				SupportedVersions []string `json:"supportedVersions"`
			} `json:"result"`
		}
		msg, err := firstMessage(resp, g.opts.maxMessage())
		if err != nil {
			return false, err
		}
		if _, err := mcpmsg.Decode(msg); err == nil && json.Unmarshal(msg, &answer) == nil {
			modern = slices.Contains(answer.Result.SupportedVersions, mcpmsg.FirstStatelessVersion)
		}
	} else {
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // a refusal says enough
	}
	g.eraMu.Lock()
	g.modern, g.eraUntil = modern, g.now().Add(eraTTL)
	g.eraMu.Unlock()
	return modern, nil
}

// firstMessage is the first message of an answer: its JSON body, or its
// stream's first message event.
func firstMessage(resp *http.Response, limit int) ([]byte, error) {
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		events := sse.NewReader(resp.Body, limit)
		for {
			e, err := events.Next()
			if err != nil {
				return nil, err
			}
			if !e.IsComment && (e.Name == "" || e.Name == "message") {
				return e.Data, nil
			}
		}
	}
	return io.ReadAll(io.LimitReader(resp.Body, int64(limit)))
}

// streamableConn is a backend session of a 2025 Streamable HTTP server,
// opened by the gateway for a user and client's 2026-07-28 requests: each
// message is a POST with the session's Mcp-Session-Id, and what the
// server answers (JSON or an event stream) is routed to the session.
type streamableConn struct {
	g      *httpBackend
	caller Caller
	extra  Identity
	sess   *bridgedSession

	mu      sync.Mutex
	id      string // the backend's Mcp-Session-Id, once initialize answered
	version string // the revision negotiated
	once    sync.Once
}

func (g *httpBackend) dialStreamable(_ *http.Request, c Caller, sess *bridgedSession, extra Identity) (backendConn, error) {
	return &streamableConn{g: g, caller: c, extra: extra, sess: sess}, nil
}

func (c *streamableConn) negotiated(version string) {
	c.mu.Lock()
	c.version = version
	c.mu.Unlock()
}

func (c *streamableConn) headers() http.Header {
	c.mu.Lock()
	defer c.mu.Unlock()
	h := http.Header{"Content-Type": {"application/json"}, "Accept": {"application/json, text/event-stream"}}
	if c.id != "" {
		h.Set(mcpmsg.HeaderSessionID, c.id)
	}
	if c.version != "" {
		h.Set(mcpmsg.HeaderProtocolVersion, c.version)
	}
	return h
}

// identityKey carries the identity extras of the request a message is
// sent for: an identity assertion lasts minutes, a backend session longer.
type identityKey struct{}

// callerKey carries the Caller of the request a message is sent for: a
// backend session outlives the token it was opened with, and a later
// token of the same user and client may have other scopes.
type callerKey struct{}

// senderOf is who a message sent with ctx is from: the request's caller,
// or the one the session was opened for (the gateway's own messages).
func senderOf(ctx context.Context, opened Caller) Caller {
	if c, ok := ctx.Value(callerKey{}).(Caller); ok {
		return c
	}
	return opened
}

func (c *streamableConn) send(ctx context.Context, msg []byte) error {
	h := c.headers()
	extra, ok := ctx.Value(identityKey{}).(Identity)
	if !ok {
		extra = c.extra
	}
	ids := make(http.Header, 6)
	setIdentity(ids, senderOf(ctx, c.caller), extra)
	resp, err := c.g.fwd.Do(ctx, &forward.Request{Method: http.MethodPost, Header: h, Extra: ids, Body: msg})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusNotFound && h.Get(mcpmsg.HeaderSessionID) != "":
		// 2025-11-25 "Session Management": the server ended the session;
		// the gateway opens another.
		c.end()
		return errSessionGone
	case resp.StatusCode/100 != 2:
		io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // the status says enough
		return fmt.Errorf("the MCP server answered %d to a message", resp.StatusCode)
	}
	if id := resp.Header.Get(mcpmsg.HeaderSessionID); id != "" && h.Get(mcpmsg.HeaderSessionID) == "" {
		c.mu.Lock()
		c.id = id
		c.mu.Unlock()
	}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		var request string // the id key of the request msg is, if it is one
		if b, err := mcpmsg.Decode(msg); err == nil && b.Messages[0].Kind == mcpmsg.KindRequest {
			request = b.Messages[0].IDKey
		}
		events := sse.NewReader(resp.Body, c.g.opts.maxMessage())
		for {
			e, err := events.Next()
			if err != nil {
				return nil // the stream ends after the answer, or breaks: a missing answer times out
			}
			if !e.IsComment && (e.Name == "" || e.Name == "message") {
				c.sess.route(e.Data)
				if request != "" && !c.sess.awaits(request) {
					// Answered: a server may leave the stream open
					// (2025-11-25 only says it SHOULD close it).
					return nil
				}
			}
		}
	}
	if resp.StatusCode == http.StatusOK {
		body, err := io.ReadAll(io.LimitReader(resp.Body, int64(c.g.opts.maxMessage())))
		if err != nil {
			return err
		}
		c.sess.route(body)
	}
	return nil
}

// end ends the session on the gateway's side, once.
func (c *streamableConn) end() { c.once.Do(c.sess.finish) }

// close ends the session on the server too (DELETE, 2025-11-25 "Session
// Management"), without making anyone wait for it.
func (c *streamableConn) close() {
	h := c.headers()
	c.end()
	if h.Get(mcpmsg.HeaderSessionID) == "" {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.g.opts.Timeout)
		defer cancel()
		ids := make(http.Header, 6)
		setIdentity(ids, c.caller, c.extra)
		h.Del("Content-Type")
		if resp, err := c.g.fwd.Do(ctx, &forward.Request{Method: http.MethodDelete, Header: h, Extra: ids}); err == nil {
			io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16)) //nolint:errcheck // nothing to learn
			resp.Body.Close()
		}
	}()
}

func (c *streamableConn) kill() { c.close() }
