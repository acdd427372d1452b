package resource

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// sessions is the registry of MCP sessions: each is bound to the user and
// client whose token created it, expires when idle, and their number is
// bounded per server and per user. Streamable HTTP sessions (the
// Mcp-Session-Id header) and legacy SSE sessions (the sessionId query
// parameter) alike.
type sessions struct {
	mu      sync.Mutex
	byID    map[string]*session
	byOwner map[string]int // by user and client
	byUser  map[string]int // by user, across their clients
	pending int            // requests opening a session now
	idle    time.Duration
	limits  SessionLimits
	now     func() time.Time
	// onEnd learns of every session that ends, however it ends (closed,
	// idle, swept); it runs on its own goroutine.
	onEnd func(id string)
}

type session struct {
	owner    string
	user     string
	lastSeen time.Time
	busy     int // requests in flight on it (an open stream counts)
}

// SessionLimits bound how many MCP sessions are open (zero: no bound):
// on the server, per user across all their clients, and per user through
// one client. A gateway runs a backend session (a process, for a stdio
// server) for each.
type SessionLimits struct {
	Max, PerUser, PerClient int
}

func newSessions(idle time.Duration, limits SessionLimits, now func() time.Time) *sessions {
	return &sessions{byID: map[string]*session{}, byOwner: map[string]int{}, byUser: map[string]int{}, idle: idle, limits: limits, now: now}
}

// owner is who a session belongs to: one user through one client.
func owner(p *Principal) string { return ownerOf(p.Subject, p.ClientID) }

func ownerOf(subject, clientID string) string { return subject + "\x00" + clientID }

// userOf is the user part of an owner.
func userOf(who string) string {
	user, _, _ := strings.Cut(who, "\x00")
	return user
}

// hooks registers sessions as the MCP server creates them and forgets them
// as it closes them; the request that created one carries its principal.
func (s *sessions) hooks() *server.Hooks {
	h := &server.Hooks{}
	h.AddOnRegisterSession(func(ctx context.Context, cs server.ClientSession) {
		if p, ok := PrincipalFrom(ctx); ok {
			s.add(ctx, cs.SessionID(), owner(p))
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) { s.remove(cs.SessionID()) })
	return h
}

// add registers session id for who. Opened by a request that reserved
// room (ctx carries the reservation), it takes that room; otherwise it
// takes room of its own.
func (s *sessions) add(ctx context.Context, id, who string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addLocked(ctx, id, who)
}

func (s *sessions) addLocked(ctx context.Context, id, who string) {
	if _, ok := s.byID[id]; ok {
		return
	}
	user := userOf(who)
	s.byID[id] = &session{owner: who, user: user, lastSeen: s.now()}
	if res, ok := ctx.Value(reservationKey{}).(*reservation); ok && res.who == who && !res.taken {
		res.taken = true
		s.pending--
		return
	}
	s.byOwner[who]++
	s.byUser[user]++
}

// open adds session id for who, as add does, when the caps leave room
// for it (a request that reserved room has it), and reports whether they
// did: the gateway opens backend sessions of its own for 2026-07-28
// clients, which count like the sessions clients open.
func (s *sessions) open(ctx context.Context, id, who string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	res, reserved := ctx.Value(reservationKey{}).(*reservation)
	if !(reserved && res.who == who && !res.taken) && !s.roomLocked(who) {
		s.sweepLocked()
		if !s.roomLocked(who) {
			return false
		}
	}
	s.addLocked(ctx, id, who)
	return true
}

// touch marks session id used and reports whether it is open: one idle
// past the idle TTL ends now.
func (s *sessions) touch(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.liveLocked(id)
	if ok {
		e.lastSeen = s.now()
	}
	return ok
}

// liveLocked is session id when it exists and has not idled out; one
// idle past the TTL ends now.
func (s *sessions) liveLocked(id string) (*session, bool) {
	e, ok := s.byID[id]
	if ok && s.idle > 0 && s.now().Sub(e.lastSeen) > s.idle {
		s.removeLocked(id)
		return nil, false
	}
	return e, ok
}

func (s *sessions) remove(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.removeLocked(id)
}

func (s *sessions) removeLocked(id string) {
	e, ok := s.byID[id]
	if !ok {
		return
	}
	delete(s.byID, id)
	s.decrement(e.owner, e.user)
	if s.onEnd != nil {
		go s.onEnd(id)
	}
}

// use reports whether session id exists, is alive and belongs to who, and
// marks it used, and in use until done. Any other id is unknown to the caller: 404, whether it
// was never issued, expired or is someone else's.
func (s *sessions) use(id, who string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.liveLocked(id)
	if !ok || e.owner != who {
		return false
	}
	e.lastSeen = s.now()
	e.busy++
	return true
}

// done marks a request on session id, let in by use, ended.
func (s *sessions) done(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e, ok := s.byID[id]; ok {
		e.lastSeen = s.now()
		e.busy--
	}
}

// evictAfter is how long a session must have been idle (no request in
// flight, none begun) before a new session of its user and client may
// take its place.
const evictAfter = time.Minute

// evictLocked makes room for one more session of who, when a cap is
// reached, by ending who's own session that has been idle longest (at
// least evictAfter): a client that forgets to end its sessions is not
// locked out until they expire, and nobody else's session is touched.
// It reports whether it ended one.
func (s *sessions) evictLocked(who string) bool {
	var oldest string
	var seen time.Time
	cutoff := s.now().Add(-evictAfter)
	for id, e := range s.byID {
		if e.owner == who && e.busy == 0 && !e.lastSeen.After(cutoff) && (oldest == "" || e.lastSeen.Before(seen)) {
			oldest, seen = id, e.lastSeen
		}
	}
	if oldest == "" {
		return false
	}
	s.removeLocked(oldest)
	return true
}

// reservation is room held for a session an opening request may add.
type reservation struct {
	who   string
	taken bool // by the session the request added
}

type reservationKey struct{}

// reserve holds room for one more session of who until release: an
// opening request counts against the caps from its start, so requests
// opening sessions at once cannot all find the same room. The session the
// request adds takes the room over.
func (s *sessions) reserve(who string) (res *reservation, release func(), ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.roomLocked(who) {
		s.sweepLocked()
		for !s.roomLocked(who) {
			if !s.evictLocked(who) {
				return nil, nil, false
			}
		}
	}
	s.pending++
	s.byOwner[who]++
	s.byUser[userOf(who)]++
	res = &reservation{who: who}
	var once sync.Once
	return res, func() {
		once.Do(func() {
			s.mu.Lock()
			defer s.mu.Unlock()
			if !res.taken {
				res.taken = true
				s.pending--
				s.decrement(who, userOf(who))
			}
		})
	}, true
}

func (s *sessions) roomLocked(who string) bool {
	l := s.limits
	return (l.Max <= 0 || len(s.byID)+s.pending < l.Max) && (l.PerClient <= 0 || s.byOwner[who] < l.PerClient) &&
		(l.PerUser <= 0 || s.byUser[userOf(who)] < l.PerUser)
}

func (s *sessions) decrement(who, user string) {
	if s.byOwner[who]--; s.byOwner[who] <= 0 {
		delete(s.byOwner, who)
	}
	if s.byUser[user]--; s.byUser[user] <= 0 {
		delete(s.byUser, user)
	}
}

// sweep drops idle sessions.
func (s *sessions) sweep(context.Context) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sweepLocked()
}

func (s *sessions) sweepLocked() {
	if s.idle <= 0 {
		return
	}
	now := s.now()
	for id, e := range s.byID {
		if now.Sub(e.lastSeen) > s.idle {
			s.removeLocked(id)
		}
	}
}

func (s *sessions) has(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.byID[id]
	return ok
}

// sessionRetryAfter is how long a client refused for the session cap waits.
const sessionRetryAfter = 30 * time.Second

// guard is the session check of an authenticated MCP request: a request
// naming a session must own it (else 404, as for an expired session, so
// the client starts a new one), and a request that opens one needs room
// (else 503 with Retry-After, unless the caller's own session idle
// longest gives its place: evictLocked). The room is held for the request while it
// runs, so requests opening sessions at once cannot all find the same
// room: release gives it back when the request ends. A session is named
// by Mcp-Session-Id, or, only on the legacy SSE transport's message
// endpoint (queryIDs), by the sessionId parameter.
func (s *sessions) guard(w http.ResponseWriter, r *http.Request, p *Principal, initialize, queryIDs bool) (ctx context.Context, release func(), ok bool) {
	id := r.Header.Get(server.HeaderKeySessionID)
	if q := r.URL.Query(); q.Has("sessionId") {
		if !queryIDs || id != "" || len(q["sessionId"]) > 1 {
			(&mcpmsg.Error{Code: mcpmsg.CodeInvalidRequest, Message: "sessionId belongs to the legacy SSE transport's message URL; name a session with one Mcp-Session-Id header"}).Write(w)
			return nil, nil, false
		}
		id = q.Get("sessionId")
	}
	who := owner(p)
	if id != "" {
		if initialize && !queryIDs { // a legacy SSE session initializes on its own URL
			(&mcpmsg.Error{Code: mcpmsg.CodeInvalidRequest, Message: "initialize opens a new session: send it without a session id"}).Write(w)
			return nil, nil, false
		}
		if !s.use(id, who) {
			http.Error(w, "session not found: start a new one", http.StatusNotFound)
			return nil, nil, false
		}
		var once sync.Once
		return r.Context(), func() { once.Do(func() { s.done(id) }) }, true
	}
	if r.Method != http.MethodGet && !initialize {
		return r.Context(), func() {}, true
	}
	res, release, ok := s.reserve(who)
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(sessionRetryAfter.Seconds())))
		http.Error(w, "too many MCP sessions are open; try again later", http.StatusServiceUnavailable)
		return nil, nil, false
	}
	return context.WithValue(r.Context(), reservationKey{}, res), release, true
}
