package resource

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/pkg/mcpmsg"
	"github.com/tmcp-dev/tmcp/pkg/secrets"
)

// sessionBridge serves Streamable HTTP in front of an MCP server that
// holds one connection per MCP session: a process speaking stdio, or a
// legacy SSE server (an event stream and a URL to post to). Each MCP
// session gets its own connection, so users never share one, opened with
// who the user is. A session's connection closes when the session ends,
// idles out or is closed; a connection that ends ends its session, never
// the server.
type sessionBridge struct {
	s       *Server
	timeout time.Duration
	// dial opens a session's connection for the user of r and starts
	// delivering its messages to sess.route, then sess.finish.
	dial func(r *http.Request, sess *bridgedSession, extra identity) (backendConn, error)
	// what names the backend in messages: "process", "SSE connection".
	what string

	mu       sync.Mutex
	sessions map[string]*bridgedSession
}

// backendConn is one session's connection to the MCP server.
type backendConn interface {
	// send delivers one message; it gives up when ctx (the request's)
	// ends, so a backend that stops reading holds no request, nor the
	// server's shutdown.
	send(ctx context.Context, msg []byte) error
	// close asks the connection to end; kill ends it now.
	close()
	kill()
}

// identity is what the gateway passes on besides the principal: the
// user's TaskManager access token and an identity assertion, when asked.
type identity struct {
	taskManagerToken string
	assertion        string
}

func newSessionBridge(s *Server, timeout time.Duration, what string,
	dial func(*http.Request, *bridgedSession, identity) (backendConn, error)) *sessionBridge {
	g := &sessionBridge{s: s, timeout: timeout, what: what, dial: dial, sessions: map[string]*bridgedSession{}}
	s.sessions.onEnd = g.stop
	return g
}

func (g *sessionBridge) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id := r.Header.Get(server.HeaderKeySessionID)
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if p := g.proc(id); p != nil {
			p.stream(w, r)
			return
		}
		http.Error(w, "session not found: start a new one", http.StatusNotFound)
		return
	case http.MethodDelete:
		g.s.sessions.remove(id) // stops the process through onEnd
		w.WriteHeader(http.StatusOK)
		return
	default:
		w.Header().Set("Allow", "GET, POST, DELETE")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body := bodyOf(r) // read and judged by requireToken
	var p *bridgedSession
	if id == "" {
		if !body.Opens() {
			// Sessionless clients (2026-07-28) fall back to initialize.
			rpcError(w, http.StatusBadRequest, rpcInvalidRequest, "send initialize first: this gateway runs one MCP server process per session")
			return
		}
		var extra identity
		pr, _ := PrincipalFrom(r.Context())
		if g.s.cfg.ForwardTaskManagerToken {
			token, err := g.s.auth.upstreamToken(r.Context(), pr, g.s.cfg.TaskManager)
			if !g.s.exchanged(w, r, err, "your TaskManager access") {
				return
			}
			extra.taskManagerToken = token
		}
		if g.s.cfg.IdentityAssertion && g.s.cfg.Proxy != "" {
			assertion, err := g.s.auth.identityAssertion(r.Context(), pr, g.s.cfg.Proxy, "")
			if !g.s.exchanged(w, r, err, "an identity assertion for you") {
				return
			}
			extra.assertion = assertion
		}
		var err error
		if p, err = g.start(r, extra); err != nil {
			g.s.log.ErrorContext(r.Context(), "open a connection to the MCP server", "backend", g.what, "err", err)
			rpcError(w, http.StatusBadGateway, rpcInternalError, "the MCP server behind this gateway could not be reached")
			return
		}
		defer func() {
			if !g.s.sessions.has(p.id) {
				go g.stopProc(p) // no session was opened: nothing else would stop it
			}
		}()
	} else if p = g.proc(id); p == nil {
		http.Error(w, "session not found: start a new one", http.StatusNotFound)
		return
	}
	var waits []chan []byte
	var ids []string
	defer func() {
		for _, id := range ids {
			p.forget(id) // answered, or no longer waited for
		}
	}()
	// Handing the messages over is bounded like waiting for the answers.
	sendCtx, cancelSend := context.WithTimeout(r.Context(), g.timeout)
	defer cancelSend()
	for _, m := range body.Messages {
		if m.Kind == mcpmsg.KindRequest {
			waits = append(waits, p.await(m.IDKey))
			ids = append(ids, m.IDKey)
		}
		if err := p.conn.send(sendCtx, m.Raw); err != nil {
			if errors.Is(sendCtx.Err(), context.DeadlineExceeded) {
				rpcError(w, http.StatusGatewayTimeout, rpcInternalError, fmt.Sprintf("the MCP server behind this gateway did not take the message within %s", g.timeout))
				return
			}
			rpcError(w, http.StatusBadGateway, rpcInternalError, g.ended())
			return
		}
	}
	if len(waits) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	timer := time.NewTimer(g.timeout)
	defer timer.Stop()
	if id != "" && strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		p.answerStream(w, r, waits, timer.C)
		return
	}
	answers := make([]json.RawMessage, 0, len(waits))
	for _, ch := range waits {
		select {
		case a, ok := <-ch:
			if !ok {
				rpcError(w, http.StatusBadGateway, rpcInternalError, g.ended())
				return
			}
			answers = append(answers, p.hide(r, a))
		case <-timer.C:
			rpcError(w, http.StatusGatewayTimeout, rpcInternalError, fmt.Sprintf("the MCP server behind this gateway did not answer within %s", g.timeout))
			return
		case <-r.Context().Done():
			return
		}
	}
	if id == "" {
		w.Header().Set(server.HeaderKeySessionID, p.id)
		if pr, ok := PrincipalFrom(r.Context()); ok {
			g.s.sessions.add(r.Context(), p.id, owner(pr))
		}
	}
	w.Header().Set("Content-Type", "application/json")
	if len(answers) == 1 && !body.Batch {
		w.Write(answers[0])
		return
	}
	out, _ := json.Marshal(answers)
	w.Write(out)
}

// JSON-RPC error codes the gateway answers with.
const (
	rpcParseError     = -32700
	rpcInvalidRequest = -32600
	rpcInternalError  = -32603
)

// ended is what a client is told when its session's connection ended.
func (g *sessionBridge) ended() string {
	return "the MCP server " + g.what + " behind this gateway has ended"
}

// rpcError answers with a JSON-RPC error that belongs to no request.
func rpcError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%q}}`, code, msg)
}

// rpcErrorMessage is an internal JSON-RPC error as one message, for a
// stream.
func rpcErrorMessage(msg string) []byte {
	return fmt.Appendf(nil, `{"jsonrpc":"2.0","id":null,"error":{"code":%d,"message":%q}}`, rpcInternalError, msg)
}

func (g *sessionBridge) proc(id string) *bridgedSession {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[id]
}

// start opens a new session's connection for the user of r.
func (g *sessionBridge) start(r *http.Request, extra identity) (*bridgedSession, error) {
	p := &bridgedSession{g: g, id: "tmcp-" + secrets.Random(16), waiting: map[string]chan []byte{}, events: make(chan []byte, 64), done: make(chan struct{})}
	conn, err := g.dial(r, p, extra)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	g.mu.Lock()
	g.sessions[p.id] = p
	g.mu.Unlock()
	go func() {
		<-p.done
		g.mu.Lock()
		delete(g.sessions, p.id)
		g.mu.Unlock()
		g.s.sessions.remove(p.id)
	}()
	return p, nil
}

// stop ends the connection of a session that ended.
func (g *sessionBridge) stop(id string) {
	if p := g.proc(id); p != nil {
		g.stopProc(p)
	}
}

func (g *sessionBridge) stopProc(p *bridgedSession) {
	p.conn.close() // a well-behaved process exits on EOF
	select {
	case <-p.done:
	case <-time.After(2 * time.Second):
		p.conn.kill()
	}
}

// stopAll ends every connection, when the server stops.
func (g *sessionBridge) stopAll() {
	g.mu.Lock()
	ids := make([]string, 0, len(g.sessions))
	for id := range g.sessions {
		ids = append(ids, id)
	}
	g.mu.Unlock()
	for _, id := range ids {
		g.stop(id)
	}
}

// bridgedSession is one MCP session's connection and the requests
// waiting on it.
type bridgedSession struct {
	g    *sessionBridge
	id   string
	conn backendConn

	mu      sync.Mutex
	waiting map[string]chan []byte
	events  chan []byte // server-to-client messages for the GET stream
	done    chan struct{}
}

// hide applies --hide-unauthorized to a message for the user of r: any
// message, since a tools/list answer may also come on the GET stream.
func (p *bridgedSession) hide(r *http.Request, msg []byte) []byte {
	pr, ok := PrincipalFrom(r.Context())
	if !ok || !p.g.s.cfg.HideUnauthorized {
		return msg
	}
	return hideTools(msg, p.g.s.toolFilter(pr))
}

func (p *bridgedSession) await(id string) chan []byte {
	ch := make(chan []byte, 1)
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		close(ch)
	default:
		p.waiting[id] = ch
	}
	return ch
}

func (p *bridgedSession) forget(id string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.waiting, id)
}

// route delivers one message from the MCP server: a response to the
// request waiting for it, everything else (notifications, requests to the
// client) to the session's GET stream, dropped when nobody listens and
// the buffer is full.
func (p *bridgedSession) route(msg []byte) {
	body, err := mcpmsg.Decode(msg)
	if err != nil {
		return // not JSON-RPC: a process that logs to stdout
	}
	for _, m := range body.Messages {
		if m.Kind == mcpmsg.KindResponse {
			p.mu.Lock()
			ch, ok := p.waiting[m.IDKey]
			delete(p.waiting, m.IDKey)
			p.mu.Unlock()
			if ok {
				ch <- m.Raw
				continue
			}
		}
		select {
		case p.events <- m.Raw:
		default:
		}
	}
}

// finish marks the connection ended: every waiting request gets its
// channel closed, and the session goes.
func (p *bridgedSession) finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.done)
	for id, ch := range p.waiting {
		close(ch)
		delete(p.waiting, id)
	}
}

// answerStream answers a POST as an SSE stream: the process's other
// messages while the requests run (progress, logging, requests to the
// client), then each response; the stream ends with the last one.
func (p *bridgedSession) answerStream(w http.ResponseWriter, r *http.Request, waits []chan []byte, timeout <-chan time.Time) {
	flusher, _ := w.(http.Flusher)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	event := func(msg []byte) {
		fmt.Fprintf(w, "event: message\ndata: %s\n\n", msg)
		if flusher != nil {
			flusher.Flush()
		}
	}
	for _, ch := range waits {
		for answered := false; !answered; {
			select {
			case a, ok := <-ch:
				if !ok {
					event(rpcErrorMessage(p.g.ended()))
					return
				}
				event(p.hide(r, a))
				answered = true
			case msg := <-p.events:
				event(p.hide(r, msg))
			case <-timeout:
				event(rpcErrorMessage("the MCP server behind this gateway did not answer in time"))
				return
			case <-r.Context().Done():
				return
			}
		}
	}
}

// stream is the session's GET stream: server-to-client messages as SSE.
func (p *bridgedSession) stream(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	flusher.Flush()
	for {
		select {
		case msg := <-p.events:
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", p.hide(r, msg))
			flusher.Flush()
		case <-p.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
