package gateway

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
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
