package gateway

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// sessionBridge serves Streamable HTTP in front of an MCP server that
// holds one connection per MCP session: a process speaking stdio, or a
// legacy SSE server (an event stream and a URL to post to). Each MCP
// session gets its own connection, so users never share one, opened with
// who the user is. A session's connection closes when the session ends,
// idles out or is closed; a connection that ends ends its session, never
// the server.
type sessionBridge struct {
	opts Options
	// dial opens a session's connection for caller and starts delivering
	// its messages to sess.route, then sess.finish.
	dial func(r *http.Request, caller Caller, sess *bridgedSession, extra Identity) (backendConn, error)
	// what names the backend in messages: "process", "SSE connection".
	what string
	// name says which server it is, for status and logs.
	name string
	// ready checks that the server can be reached.
	ready func(context.Context) error

	mu       sync.Mutex
	sessions map[string]*bridgedSession
	// owners are the backend sessions of 2026-07-28 clients, one for
	// each user and client (modern.go).
	owners map[string]*ownerSlot
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

func newSessionBridge(opts Options, what, name string, ready func(context.Context) error,
	dial func(*http.Request, Caller, *bridgedSession, Identity) (backendConn, error)) *sessionBridge {
	return &sessionBridge{opts: opts, what: what, name: name, ready: ready, dial: dial, sessions: map[string]*bridgedSession{}, owners: map[string]*ownerSlot{}}
}

func (g *sessionBridge) Name() string                    { return g.name }
func (g *sessionBridge) Ready(ctx context.Context) error { return g.ready(ctx) }

func (g *sessionBridge) ServeMCP(w http.ResponseWriter, r *http.Request, req *Request) {
	id := r.Header.Get(mcpmsg.HeaderSessionID)
	if m, version, ok := modernRequest(r.Header, req.Body); ok && id == "" && r.Method == http.MethodPost {
		g.serveModern(w, r, req, m, version)
		return
	}
	if id == "" && r.Method != http.MethodPost && modernVersion(r.Header) {
		// 2026-07-28 has no session to stream or end.
		rpcError(w, http.StatusMethodNotAllowed, mcpmsg.CodeInvalidRequest, r.Method+" is not a method of MCP "+r.Header.Get(mcpmsg.HeaderProtocolVersion)+": send requests with POST")
		return
	}
	switch r.Method {
	case http.MethodPost:
	case http.MethodGet:
		if p := g.proc(id); p != nil {
			p.stream(w, r, req.Visible)
			return
		}
		http.Error(w, "session not found: start a new one", http.StatusNotFound)
		return
	case http.MethodDelete:
		g.opts.Sessions.Remove(id) // ends the connection through SessionEnded
		w.WriteHeader(http.StatusOK)
		return
	default:
		rpcError(w, http.StatusMethodNotAllowed, mcpmsg.CodeInvalidRequest, r.Method+" is not an MCP method")
		return
	}
	body := req.Body // read and judged by the resource server
	var p *bridgedSession
	if id == "" {
		if !body.Opens() {
			// Sessionless clients (2026-07-28) fall back to initialize.
			rpcError(w, http.StatusBadRequest, mcpmsg.CodeInvalidRequest, "send initialize first: this gateway runs one MCP server process per session")
			return
		}
		extra, ok := req.Identity(w, r, "")
		if !ok {
			return
		}
		var err error
		if p, err = g.start(r, req.Caller, extra, "tmcp-"+secrets.Random(16), ""); err != nil {
			g.opts.Log.ErrorContext(r.Context(), "open a connection to the MCP server", "backend", g.what, "err", err)
			rpcError(w, http.StatusBadGateway, mcpmsg.CodeInternalError, "the MCP server behind this gateway could not be reached")
			return
		}
		defer func() {
			if !g.opts.Sessions.Has(p.id) {
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
	sendCtx, cancelSend := context.WithTimeout(r.Context(), g.opts.Timeout)
	defer cancelSend()
	for _, m := range body.Messages {
		if m.Kind == mcpmsg.KindRequest {
			waits = append(waits, p.await(m.IDKey))
			ids = append(ids, m.IDKey)
		}
		if err := p.conn.send(sendCtx, m.Raw); err != nil {
			if errors.Is(sendCtx.Err(), context.DeadlineExceeded) {
				rpcError(w, http.StatusGatewayTimeout, mcpmsg.CodeInternalError, fmt.Sprintf("the MCP server behind this gateway did not take the message within %s", g.opts.Timeout))
				return
			}
			rpcError(w, http.StatusBadGateway, mcpmsg.CodeInternalError, g.ended())
			return
		}
	}
	if len(waits) == 0 {
		w.WriteHeader(http.StatusAccepted)
		return
	}
	timer := time.NewTimer(g.opts.Timeout)
	defer timer.Stop()
	if id != "" && strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
		p.answerStream(w, r, waits, timer.C, req.Visible)
		return
	}
	answers := make([]json.RawMessage, 0, len(waits))
	for _, ch := range waits {
		select {
		case a, ok := <-ch:
			if !ok {
				rpcError(w, http.StatusBadGateway, mcpmsg.CodeInternalError, g.ended())
				return
			}
			answers = append(answers, hide(a, req.Visible))
		case <-timer.C:
			rpcError(w, http.StatusGatewayTimeout, mcpmsg.CodeInternalError, fmt.Sprintf("the MCP server behind this gateway did not answer within %s", g.opts.Timeout))
			return
		case <-r.Context().Done():
			return
		}
	}
	if id == "" {
		w.Header().Set(mcpmsg.HeaderSessionID, p.id)
		g.opts.Sessions.Add(r.Context(), p.id, req.Caller)
	}
	w.Header().Set("Content-Type", "application/json")
	if len(answers) == 1 && !body.Batch {
		w.Write(answers[0])
		return
	}
	out, _ := json.Marshal(answers)
	w.Write(out)
}

// ended is what a client is told when its session's connection ended.
func (g *sessionBridge) ended() string {
	return "the MCP server " + g.what + " behind this gateway has ended"
}

func (g *sessionBridge) proc(id string) *bridgedSession {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.sessions[id]
}

// start opens session id's connection for caller; owner is set for the
// backend session of a user and client's 2026-07-28 requests.
func (g *sessionBridge) start(r *http.Request, caller Caller, extra Identity, id, owner string) (*bridgedSession, error) {
	p := &bridgedSession{g: g, id: id, owner: owner, caller: caller, waiting: map[string]chan []byte{}, events: make(chan []byte, 64), done: make(chan struct{})}
	if owner != "" {
		p.replies = make(chan []byte, maxReplies)
	}
	conn, err := g.dial(r, caller, p, extra)
	if err != nil {
		return nil, err
	}
	p.conn = conn
	if owner != "" {
		go p.reply()
	}
	g.mu.Lock()
	g.sessions[p.id] = p
	g.mu.Unlock()
	go func() {
		<-p.done
		g.mu.Lock()
		delete(g.sessions, p.id)
		if slot := g.owners[p.owner]; slot != nil && slot.sess == p {
			select {
			case slot.opening <- struct{}{}:
				delete(g.owners, p.owner)
				<-slot.opening
			default:
				// A request is opening the next session in it: the slot
				// stays, so the owner's other requests wait for that one.
			}
		}
		g.mu.Unlock()
		g.opts.Sessions.Remove(p.id)
	}()
	return p, nil
}

// SessionEnded ends the connection of a session that ended.
func (g *sessionBridge) SessionEnded(id string) {
	if p := g.proc(id); p != nil {
		g.stopProc(p)
	}
}

// stopProc asks a session's connection to end, ends it after stopGrace,
// and waits a little more for it to be gone (a process reaped).
func (g *sessionBridge) stopProc(p *bridgedSession) {
	p.conn.close() // a well-behaved process exits on EOF
	select {
	case <-p.done:
		return
	case <-time.After(stopGrace):
		p.conn.kill()
	}
	select {
	case <-p.done:
	case <-time.After(stopGrace):
	}
}

// stopGrace is how long a connection has to end when asked, and then
// to be gone once killed.
const stopGrace = 2 * time.Second

// Close ends every connection, when the server stops: all at once, so
// that it takes at most twice stopGrace however many there are.
func (g *sessionBridge) Close() {
	g.mu.Lock()
	all := make([]*bridgedSession, 0, len(g.sessions))
	for _, p := range g.sessions {
		all = append(all, p)
	}
	g.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g.stopProc(p)
		}()
	}
	wg.Wait()
}

// bridgedSession is one MCP session's connection and the requests
// waiting on it.
type bridgedSession struct {
	g    *sessionBridge
	id   string
	conn backendConn
	// owner is the user and client whose 2026-07-28 requests the
	// session carries, or "" for a client's own session.
	owner string
	// caller is who the session was opened for.
	caller Caller
	// init is what the backend said of itself when the owner's session
	// opened: their server/discover is answered from it.
	init *initResult
	seq  atomic.Uint64 // ids of the requests the gateway sends on it

	mu      sync.Mutex
	waiting map[string]chan []byte
	events  chan []byte // server-to-client messages for the GET stream
	// replies are the bridge's answers to the server's requests, sent
	// one at a time (reply).
	replies chan []byte
	done    chan struct{}
}

// maxReplies is how many answers to a server's requests wait to be
// sent: a server asking faster than it reads them gets no answer to the
// rest, rather than the gateway holding each.
const maxReplies = 16

// reply sends the bridge's answers to the server's requests until the
// session ends.
func (p *bridgedSession) reply() {
	for {
		select {
		case msg := <-p.replies:
			p.answerBackend(msg)
		case <-p.done:
			return
		}
	}
}

// hide leaves out of any message the tools visible refuses (any, since a
// tools/list answer may also come on the GET stream).
func hide(msg []byte, visible func(string) bool) []byte {
	if visible == nil {
		return msg
	}
	return hideTools(msg, visible)
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

// awaits reports whether a request is still waiting for its answer.
func (p *bridgedSession) awaits(id string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	_, ok := p.waiting[id]
	return ok
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
		if p.owner != "" {
			// Nobody listens on a 2026-07-28 client's behalf: a request
			// is answered now, the rest has no one to go to.
			if m.Kind == mcpmsg.KindRequest {
				select {
				case p.replies <- answerToBackend(&m):
				default:
				}
			}
			continue
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
func (p *bridgedSession) answerStream(w http.ResponseWriter, r *http.Request, waits []chan []byte, timeout <-chan time.Time, visible func(string) bool) {
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
				event(hide(a, visible))
				answered = true
			case msg := <-p.events:
				event(hide(msg, visible))
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
func (p *bridgedSession) stream(w http.ResponseWriter, r *http.Request, visible func(string) bool) {
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
			fmt.Fprintf(w, "event: message\ndata: %s\n\n", hide(msg, visible))
			flusher.Flush()
		case <-p.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
