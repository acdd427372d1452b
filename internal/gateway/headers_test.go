package gateway

import (
	"net/http"
	"testing"
)

// Whatever a server or its framework may take for who the user is, or
// where the request came from, does not pass; other headers do, and a
// request without look-alikes shares the one exclusion set.
func TestExcluded_LookalikesOfIdentityHeaders(t *testing.T) {
	h := http.Header{}
	for _, name := range []string{"X_Forwarded_User", "X-Forwarded_Email", "X-Forwarded-Anything", "X-Auth-Request-Email",
		"X-Webauth-User", "X-Authenticated-User", "X-Remote-Group", "Remote-Email", "X-User-Id", "X-Email", "X-Real-Ip",
		"X-Original-Host", "X-Tmcp-Whatever", "Authorization", "Cookie", "Accept-Encoding"} {
		h.Set(name, "x")
	}
	for _, keep := range []string{"Accept", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version", "User-Agent", "Last-Event-Id"} {
		h.Set(keep, "x")
	}
	ex := excluded(h)
	for name := range h {
		want := true
		switch name {
		case "Accept", "Content-Type", "Mcp-Session-Id", "Mcp-Protocol-Version", "User-Agent", "Last-Event-Id":
			want = false
		}
		if ex[name] != want {
			t.Errorf("%s: excluded %v, want %v", name, ex[name], want)
		}
	}
	plain := http.Header{"Accept": {"application/json"}, "Content-Type": {"application/json"}}
	if got := excluded(plain); len(got) != len(strippedHeaders) {
		t.Errorf("a plain request's exclusions: %d, want the shared %d", len(got), len(strippedHeaders))
	}
}

// A typical MCP request's headers are judged without allocating: the
// check runs for every header of every request the gateway forwards.
func TestExcluded_TypicalRequestAllocatesNothing(t *testing.T) {
	h := http.Header{"Accept": {"application/json, text/event-stream"}, "Content-Type": {"application/json"},
		"Authorization": {"Bearer x"}, "Mcp-Session-Id": {"s"}, "Mcp-Protocol-Version": {"2025-11-25"},
		"User-Agent": {"x"}, "Content-Length": {"80"}}
	if n := testing.AllocsPerRun(100, func() { excluded(h) }); n != 0 {
		t.Errorf("excluded allocated %.0f times a request, want none", n)
	}
}
