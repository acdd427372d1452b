package resource

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/server"
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
func owner(p *Principal) string { return p.Subject + "\x00" + p.ClientID }

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
			s.add(cs.SessionID(), owner(p))
		}
	})
	h.AddOnUnregisterSession(func(_ context.Context, cs server.ClientSession) { s.remove(cs.SessionID()) })
	return h
}

func (s *sessions) add(id, who string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.byID[id]; ok {
		return
	}
	user := userOf(who)
	s.byID[id] = &session{owner: who, user: user, lastSeen: s.now()}
	s.byOwner[who]++
	s.byUser[user]++
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
	if s.byOwner[e.owner]--; s.byOwner[e.owner] <= 0 {
		delete(s.byOwner, e.owner)
	}
	if s.byUser[e.user]--; s.byUser[e.user] <= 0 {
		delete(s.byUser, e.user)
	}
	if s.onEnd != nil {
		go s.onEnd(id)
	}
}

// use reports whether session id exists, is alive and belongs to who, and
// marks it used. Any other id is unknown to the caller: 404, whether it
// was never issued, expired or is someone else's.
func (s *sessions) use(id, who string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e, ok := s.byID[id]
	now := s.now()
	switch {
	case !ok:
		return false
	case s.idle > 0 && now.Sub(e.lastSeen) > s.idle:
		s.removeLocked(id)
		return false
	case e.owner != who:
		return false
	}
	e.lastSeen = now
	return true
}

// room reports whether who may open one more session.
func (s *sessions) room(who string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.roomLocked(who) {
		s.sweepLocked()
	}
	return s.roomLocked(who)
}

func (s *sessions) roomLocked(who string) bool {
	l := s.limits
	return (l.Max <= 0 || len(s.byID) < l.Max) && (l.PerClient <= 0 || s.byOwner[who] < l.PerClient) &&
		(l.PerUser <= 0 || s.byUser[userOf(who)] < l.PerUser)
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

func (s *sessions) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.byID)
}

// sessionRetryAfter is how long a client refused for the session cap waits.
const sessionRetryAfter = 30 * time.Second

// guard is the session check of an authenticated MCP request: a request
// naming a session must own it (else 404, as for an expired session, so
// the client starts a new one), and a request that opens one needs room
// (else 503 with Retry-After).
func (s *sessions) guard(w http.ResponseWriter, r *http.Request, p *Principal, initialize bool) bool {
	id := r.Header.Get(server.HeaderKeySessionID)
	if id == "" {
		id = r.URL.Query().Get("sessionId") // legacy SSE messages
	}
	who := owner(p)
	if id != "" {
		if !s.use(id, who) {
			http.Error(w, "session not found: start a new one", http.StatusNotFound)
			return false
		}
		return true
	}
	opens := r.Method == http.MethodGet || initialize
	if opens && !s.room(who) {
		w.Header().Set("Retry-After", strconv.Itoa(int(sessionRetryAfter.Seconds())))
		http.Error(w, "too many MCP sessions are open; try again later", http.StatusServiceUnavailable)
		return false
	}
	return true
}
