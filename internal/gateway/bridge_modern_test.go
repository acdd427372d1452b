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
