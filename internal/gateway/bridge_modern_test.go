package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// fullSessions is a session registry with no room left.
type fullSessions struct{}

func (fullSessions) Add(context.Context, string, Caller)       {}
func (fullSessions) Remove(string)                             {}
func (fullSessions) Has(string) bool                           { return false }
func (fullSessions) Open(context.Context, string, Caller) bool { return false }
func (fullSessions) Touch(string) bool                         { return false }

// A caller refused a backend session (the caps are full, or their
// identity could not be had) leaves nothing behind: what the bridge keeps
// for 2026-07-28 callers grows with the sessions open, not with every
// client that ever asked.
func TestServeModern_RefusedCallersLeaveNothingBehind(t *testing.T) {
	dialed := 0
	g := newSessionBridge(Options{Timeout: time.Second, Sessions: fullSessions{}, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		"process", "test", func(context.Context) error { return nil },
		func(*http.Request, Caller, *bridgedSession, Identity) (backendConn, error) {
			dialed++
			return nil, io.EOF
		})
	body, err := mcpmsg.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	for i, identity := range []bool{true, false, true, false} {
		req := &Request{Caller: Caller{Subject: "user", ClientID: "client-" + strconv.Itoa(i)}, Body: body,
			Identity: func(w http.ResponseWriter, _ *http.Request, _ string) (Identity, bool) {
				if !identity {
					http.Error(w, "no identity", http.StatusServiceUnavailable)
				}
				return Identity{}, identity
			}}
		r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(string(body.Raw)))
		w := httptest.NewRecorder()
		g.serveModern(w, r, req, &body.Messages[0], "2026-07-28")
		if w.Code != http.StatusServiceUnavailable {
			t.Fatalf("caller %d: %d %s, want 503", i, w.Code, w.Body)
		}
	}
	if n := len(g.owners); n != 0 || dialed != 0 {
		t.Fatalf("after 4 refused callers the bridge keeps %d slots (dialed %d), want none", n, dialed)
	}
}

// roomySessions is a session registry with room for every session.
type roomySessions struct{}

func (roomySessions) Add(context.Context, string, Caller)       {}
func (roomySessions) Remove(string)                             {}
func (roomySessions) Has(string) bool                           { return true }
func (roomySessions) Open(context.Context, string, Caller) bool { return true }
func (roomySessions) Touch(string) bool                         { return true }

// A 2025 server's requests to a 2026-07-28 client are answered by the
// bridge; one that asks faster than it reads the answers (here: 20,000
// pings, its input never read) gets some answered and the rest dropped,
// and never makes the gateway hold a goroutine, and its memory, for each.
func TestServeModern_BackendRequestsAnsweredWithBoundedMemory(t *testing.T) {
	logs := &lockedBuffer{}
	script := `head -c 1 >/dev/null; printf '{"jsonrpc":"2.0","id":"tmcp-1","result":{"protocolVersion":"2025-11-25","capabilities":{},"serverInfo":{"name":"pinging","version":"1"}}}\n'; ` +
		`i=0; while [ $i -lt 20000 ]; do printf '{"jsonrpc":"2.0","id":%d,"method":"ping"}\n' $i; i=$((i+1)); done; echo flooded >&2; exec sleep 60`
	b, err := NewStdio([]string{"sh", "-c", script}, nil, Options{Timeout: time.Minute, Sessions: roomySessions{}, Log: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	before := runtime.NumGoroutine()
	body, err := mcpmsg.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"server/discover","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req := &Request{Caller: Caller{Subject: "user", ClientID: "client"}, Body: body,
		Identity: func(http.ResponseWriter, *http.Request, string) (Identity, bool) { return Identity{}, true }}
	w := httptest.NewRecorder()
	b.(*sessionBridge).serveModern(w, httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(string(body.Raw))), req, &body.Messages[0], "2026-07-28")
	if w.Code != http.StatusOK {
		t.Fatalf("server/discover: %d %s", w.Code, w.Body)
	}
	for deadline := time.Now().Add(time.Minute); !strings.Contains(logs.String(), "flooded"); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the server did not finish sending its pings")
		}
	}
	if n := runtime.NumGoroutine() - before; n > 100 {
		t.Fatalf("%d goroutines more after the server's pings, want a bounded few", n)
	}
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// answeringConn is a backend session's connection to a server that
// answers every request at once, and ends when closed.
type answeringConn struct{ sess *bridgedSession }

func (c answeringConn) send(_ context.Context, msg []byte) error {
	b, err := mcpmsg.Decode(msg)
	if err != nil {
		return err
	}
	if m := b.Messages[0]; m.Kind == mcpmsg.KindRequest {
		go c.sess.route([]byte(`{"jsonrpc":"2.0","id":` + string(m.ID) + `,"result":{"protocolVersion":"2025-11-25","capabilities":{}}}`))
	}
	return nil
}
func (c answeringConn) close() { c.sess.finish() }
func (c answeringConn) kill()  { c.sess.finish() }

// idleSessions is a registry whose sessions have idled out while idle
// says so; removing one ends it, as the resource server's does.
type idleSessions struct {
	g    *sessionBridge
	idle atomic.Bool
}

func (s *idleSessions) Add(context.Context, string, Caller)       {}
func (s *idleSessions) Remove(id string)                          { go s.g.SessionEnded(id) }
func (s *idleSessions) Has(string) bool                           { return true }
func (s *idleSessions) Open(context.Context, string, Caller) bool { return true }
func (s *idleSessions) Touch(string) bool                         { return !s.idle.Load() }

// A user and client's backend session that ends while a request of theirs
// opens the next one leaves that request the one to open it: another
// request of theirs arriving meanwhile waits for it rather than opening
// a second session, which nothing would then reach.
func TestServeModern_OneBackendSessionWhileTheNextOpens(t *testing.T) {
	var dials atomic.Int32
	gate := make(chan struct{})
	sessions := &idleSessions{}
	g := newSessionBridge(Options{Timeout: time.Minute, Sessions: sessions, Log: slog.New(slog.NewTextHandler(io.Discard, nil))},
		"process", "test", func(context.Context) error { return nil },
		func(_ *http.Request, _ Caller, sess *bridgedSession, _ Identity) (backendConn, error) {
			if dials.Add(1) == 2 {
				<-gate // the second session is slow to open
			}
			return answeringConn{sess}, nil
		})
	sessions.g = g
	body, err := mcpmsg.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	serve := func() int {
		req := &Request{Caller: Caller{Subject: "user", ClientID: "client"}, Body: body,
			Identity: func(http.ResponseWriter, *http.Request, string) (Identity, bool) { return Identity{}, true }}
		w := httptest.NewRecorder()
		g.serveModern(w, httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(string(body.Raw))), req, &body.Messages[0], "2026-07-28")
		return w.Code
	}
	if code := serve(); code != http.StatusOK {
		t.Fatalf("the first request: %d", code)
	}
	sessions.idle.Store(true) // the session idles out: the next request opens another
	var wg sync.WaitGroup
	codes := make([]int, 2)
	wg.Add(1)
	go func() { defer wg.Done(); codes[0] = serve() }()
	ended := func() bool { g.mu.Lock(); defer g.mu.Unlock(); return len(g.sessions) == 0 }
	for dials.Load() < 2 || !ended() { // opening the second; the first has ended
		time.Sleep(time.Millisecond)
	}
	sessions.idle.Store(false)
	wg.Add(1)
	go func() { defer wg.Done(); codes[1] = serve() }()
	time.Sleep(50 * time.Millisecond) // the request arriving meanwhile has had its chance to open one
	close(gate)
	wg.Wait()
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK || dials.Load() != 2 {
		t.Fatalf("answers %v after %d sessions opened, want 2 sessions", codes, dials.Load())
	}
}
