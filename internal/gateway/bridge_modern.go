package gateway

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
	"github.com/tmcp-dev/tmcp/internal/secrets"
)

// ownerSlot holds the backend session of one user and client's
// 2026-07-28 requests; its lock is held while one is opened, so
// concurrent first requests open one.
type ownerSlot struct {
	opening chan struct{} // a one-token lock
	sess    *bridgedSession
}

// ownerKey is who a backend session of 2026-07-28 requests is for: one
// user through one client.
func ownerKey(c Caller) string { return c.Subject + "\x00" + c.ClientID }

var (
	// errNotSent: the backend session took nothing of the request.
	errNotSent = errors.New("the request did not reach the MCP server")
	// errSessionGone: the backend forgot the session (HTTP 404).
	errSessionGone = errors.New("the MCP server ended the session")
	errEnded       = errors.New("the backend session ended")
	errTimeout     = errors.New("timed out")
)

// sessionRetryAfter is how long a client refused for the session caps
// waits, as the resource server tells clients opening a session.
const sessionRetryAfter = "30"

// serveModern answers a 2026-07-28 request m from a legacy backend:
// server/discover from what the backend said at the initialize of the
// caller's own session; anything else over the backend session of the
// caller (user and client), opened on first use with the client's
// capabilities and opened anew when the backend dropped it.
func (g *sessionBridge) serveModern(w http.ResponseWriter, r *http.Request, req *Request, m *mcpmsg.Message, version string) {
	if !slices.Contains(ModernVersions, version) {
		unsupportedVersion(w, m.ID, version)
		return
	}
	switch m.Kind {
	case mcpmsg.KindNotification:
		// None concerns the backend session: a request the client gives
		// up on is cancelled there when its HTTP request ends (call), and
		// the session's requests carry ids the client never saw.
		w.WriteHeader(http.StatusAccepted)
		return
	case mcpmsg.KindResponse:
		rpcError(w, http.StatusBadRequest, mcpmsg.CodeInvalidRequest, "an MCP "+version+" client answers the server in its next request (input_required), not with a response")
		return
	}
	if m.Method == mcpmsg.MethodInitialize {
		// The revision removed it; passed on, it would open the backend
		// session, which every instance of the client shares, anew on
		// this request's terms.
		writeAnswer(w, (&mcpmsg.Error{Code: -32601, ID: m.ID, Message: "MCP " + version + " has no initialize: send server/discover"}).JSON())
		return
	}
	r = r.WithContext(context.WithValue(r.Context(), callerKey{}, req.Caller))
	for attempt := 0; ; attempt++ {
		p, ok := g.modernSession(w, r, req, m)
		if !ok {
			return
		}
		if m.Method == methodDiscover {
			// From the caller's own session: what a backend says of
			// itself may be computed from who opened it.
			writeAnswer(w, discoverAnswer(m.ID, p.init))
			return
		}
		answer, err := p.call(r.Context(), m.Raw, g.opts.Timeout)
		switch {
		case err == nil:
			writeAnswer(w, modernAnswer(m.Method, m.ID, hide(answer, req.Visible)))
			return
		case errors.Is(err, errNotSent) && attempt == 0 && r.Context().Err() == nil:
			// The backend dropped the session before taking the request:
			// open another, once.
			g.opts.Sessions.Remove(p.id)
			continue
		}
		g.callFailed(w, r, m, err)
		return
	}
}

// callFailed answers a request the backend session did not answer.
func (g *sessionBridge) callFailed(w http.ResponseWriter, r *http.Request, m *mcpmsg.Message, err error) {
	if r.Context().Err() != nil {
		return // the client went away
	}
	if errors.Is(err, errTimeout) {
		(&mcpmsg.Error{Status: http.StatusGatewayTimeout, Code: mcpmsg.CodeInternalError, ID: m.ID,
			Message: fmt.Sprintf("the MCP server behind this gateway did not answer within %s", g.opts.Timeout)}).Write(w)
		return
	}
	g.opts.Log.WarnContext(r.Context(), "backend session failed", "backend", g.what, "err", err)
	(&mcpmsg.Error{Status: http.StatusBadGateway, Code: mcpmsg.CodeInternalError, ID: m.ID, Message: g.ended()}).Write(w)
}

// modernSession is the caller's backend session, opened if there is none
// or the one there was ended or idled out. It counts against the session
// caps like a client's own; when it cannot be had it has answered w.
func (g *sessionBridge) modernSession(w http.ResponseWriter, r *http.Request, req *Request, m *mcpmsg.Message) (*bridgedSession, bool) {
	key := ownerKey(req.Caller)
	var slot *ownerSlot
	for {
		g.mu.Lock()
		slot = g.owners[key]
		if slot == nil {
			slot = &ownerSlot{opening: make(chan struct{}, 1)}
			g.owners[key] = slot
		}
		g.mu.Unlock()
		select {
		case slot.opening <- struct{}{}:
		case <-r.Context().Done():
			return nil, false
		}
		g.mu.Lock()
		current := g.owners[key] == slot
		g.mu.Unlock()
		if current {
			break
		}
		<-slot.opening // dropped while this request waited: the owner's slot is another
	}
	defer func() { <-slot.opening }()
	opened := false
	defer func() {
		if !opened { // a slot holding no live session is not kept for each refused caller
			g.mu.Lock()
			if g.owners[key] == slot {
				delete(g.owners, key)
			}
			g.mu.Unlock()
		}
	}()
	g.mu.Lock()
	p := slot.sess
	g.mu.Unlock()
	if p != nil && !p.ended() {
		if _, fixed := p.conn.(interface{ identityFixed() }); fixed && !sameIdentity(p.caller, req.Caller) {
			// A process was told who its user is when it started: a
			// token with other scopes gets a process told of them.
			g.opts.Sessions.Remove(p.id)
		} else if g.opts.Sessions.Touch(p.id) {
			opened = true
			return p, true
		} else {
			g.opts.Sessions.Remove(p.id) // idle past --session-idle-ttl: a new one
		}
	}
	extra, ok := req.Identity(w, r, "")
	if !ok {
		return nil, false
	}
	id := "tmcp-" + secrets.Random(16)
	if !g.opts.Sessions.Open(r.Context(), id, req.Caller) {
		w.Header().Set("Retry-After", sessionRetryAfter)
		(&mcpmsg.Error{Status: http.StatusServiceUnavailable, Code: mcpmsg.CodeInternalError, ID: m.ID,
			Message: "too many MCP sessions are open; try again later"}).Write(w)
		return nil, false
	}
	p, err := g.start(r, req.Caller, extra, id, key)
	if err == nil {
		if p.init, err = p.open(r.Context(), metaOf(m), g.opts.Timeout); err == nil {
			g.mu.Lock()
			slot.sess = p
			g.mu.Unlock()
			opened = true
			return p, true
		}
	}
	g.opts.Sessions.Remove(id) // stops what started
	if r.Context().Err() == nil {
		g.opts.Log.ErrorContext(r.Context(), "open a backend session for an MCP "+mcpmsg.FirstStatelessVersion+" client", "backend", g.what, "err", err)
		status := http.StatusBadGateway
		if errors.Is(err, errTimeout) {
			status = http.StatusGatewayTimeout
		}
		(&mcpmsg.Error{Status: status, Code: mcpmsg.CodeInternalError, ID: m.ID,
			Message: "the MCP server behind this gateway could not be reached"}).Write(w)
	}
	return nil, false
}

// sameIdentity reports whether a and b (one user through one client) are
// told alike to a backend: the same address and scopes.
func sameIdentity(a, b Caller) bool {
	as, bs := slices.Clone(a.Scopes), slices.Clone(b.Scopes)
	slices.Sort(as)
	slices.Sort(bs)
	return a.Email == b.Email && slices.Equal(as, bs)
}

// open opens the backend session on behalf of a client whose request
// carried meta: initialize with its capabilities, then initialized.
func (p *bridgedSession) open(ctx context.Context, meta requestMeta, timeout time.Duration) (*initResult, error) {
	answer, err := p.call(ctx, initializeRequest("", meta), timeout)
	if err != nil {
		return nil, err
	}
	init, err := readInitResult(answer)
	if err != nil {
		return nil, err
	}
	if n, ok := p.conn.(interface{ negotiated(version string) }); ok {
		n.negotiated(init.ProtocolVersion)
	}
	sendCtx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.conn.send(sendCtx, initialized); err != nil {
		return nil, err
	}
	return init, nil
}

// call sends one request on the session, under an id of the gateway's
// (one client's instances share the session, and their ids may
// collide), and waits for its answer.
func (p *bridgedSession) call(ctx context.Context, msg []byte, timeout time.Duration) ([]byte, error) {
	id := "tmcp-" + strconv.FormatUint(p.seq.Add(1), 10)
	key := "s" + id // as mcpmsg keys a string id
	ch := p.await(key)
	defer p.forget(key)
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := p.conn.send(ctx, withID(msg, id)); err != nil {
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout
		}
		return nil, fmt.Errorf("%w: %w", errNotSent, err)
	}
	select {
	case a, ok := <-ch:
		if !ok {
			return nil, errEnded
		}
		return a, nil
	case <-ctx.Done():
		// The client left or the time is up: the server may stop working
		// on it (2025-11-25 "Cancellation").
		go p.answerBackend([]byte(`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"` + id + `"}}`))
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, errTimeout
		}
		return nil, ctx.Err()
	}
}

// answerBackend sends the backend a message of the gateway's own: an
// answer to one of its requests, a cancellation.
func (p *bridgedSession) answerBackend(msg []byte) {
	ctx, cancel := context.WithTimeout(context.Background(), p.g.opts.Timeout)
	defer cancel()
	p.conn.send(ctx, msg) //nolint:errcheck // a session that ended has no one to answer
}

func (p *bridgedSession) ended() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}
