package mcpmsg_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

func post(body string, header ...string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		r.Header.Add(header[i], header[i+1])
	}
	return r
}

// Only POST carries messages; GET and DELETE carry none; a header the
// transport reads appears once.
func TestCheckRequest_MethodsAndSingleHeaders(t *testing.T) {
	for _, tc := range []struct {
		name   string
		r      *http.Request
		status int
	}{
		{"POST", post("{}"), 0},
		{"GET", httptest.NewRequest(http.MethodGet, "/mcp", nil), 0},
		{"DELETE", httptest.NewRequest(http.MethodDelete, "/mcp", nil), 0},
		{"PUT", httptest.NewRequest(http.MethodPut, "/mcp", strings.NewReader("{}")), http.StatusMethodNotAllowed},
		{"PATCH", httptest.NewRequest(http.MethodPatch, "/mcp", strings.NewReader("{}")), http.StatusMethodNotAllowed},
		{"GET with a body", httptest.NewRequest(http.MethodGet, "/mcp", strings.NewReader(`{"jsonrpc":"2.0"}`)), http.StatusBadRequest},
		{"DELETE with a body", httptest.NewRequest(http.MethodDelete, "/mcp", strings.NewReader(`{}`)), http.StatusBadRequest},
		{"two session ids", post("{}", "Mcp-Session-Id", "a", "Mcp-Session-Id", "b"), http.StatusBadRequest},
		{"two methods", post("{}", "Mcp-Method", "ping", "Mcp-Method", "tools/call"), http.StatusBadRequest},
		{"two content types", post("{}", "Content-Type", "text/plain"), http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := mcpmsg.CheckRequest(tc.r)
			switch {
			case tc.status == 0 && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.status != 0 && (err == nil || err.Status != tc.status):
				t.Fatalf("got %v, want %d", err, tc.status)
			}
			if err != nil {
				w := httptest.NewRecorder()
				err.Write(w)
				if w.Code == http.StatusMethodNotAllowed && w.Header().Get("Allow") != "GET, POST, DELETE" {
					t.Errorf("405 without Allow: %v", w.Header())
				}
				var rpc map[string]any
				if json.Unmarshal(w.Body.Bytes(), &rpc) != nil || rpc["error"] == nil {
					t.Errorf("not a JSON-RPC error: %s", w.Body)
				}
			}
		})
	}
}

// A body in another charset or encoding is one the server behind may
// decode differently: 415.
func TestReadBody_OnlyPlainUTF8JSON(t *testing.T) {
	for _, tc := range []struct {
		contentType, encoding string
		ok                    bool
	}{
		{"application/json", "", true},
		{"application/json; charset=utf-8", "", true},
		{"application/json; charset=UTF-8", "identity", true},
		{"application/json; charset=utf-16le", "", false},
		{"application/json; charset=iso-8859-1", "", false},
		{"application/json; boundary=x", "", false},
		{"text/plain", "", false},
		{"", "", false},
		{"application/json", "gzip", false},
		{"application/json", "deflate", false},
	} {
		r := post(`{}`)
		r.Header.Set("Content-Type", tc.contentType)
		if tc.encoding != "" {
			r.Header.Set("Content-Encoding", tc.encoding)
		}
		_, err := mcpmsg.ReadBody(r, 1<<20)
		if (err == nil) != tc.ok || err != nil && err.Status != http.StatusUnsupportedMediaType {
			t.Errorf("%q %q: %v", tc.contentType, tc.encoding, err)
		}
	}
	if _, err := mcpmsg.ReadBody(post(strings.Repeat(" ", 2000)+"{}"), 1000); err == nil || err.Status != http.StatusRequestEntityTooLarge {
		t.Errorf("a body over the limit: %v", err)
	}
}

const modern = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`

// MCP 2026-07-28 "Server Validation": the mirrored headers must say what
// the body says, and a request of that revision must carry them.
func TestCheckHeaders_MirroredHeadersMatchTheBody(t *testing.T) {
	v := "Mcp-Protocol-Version"
	for _, tc := range []struct {
		name, body string
		header     []string
		ok         bool
	}{
		{"2025 request, no headers", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, []string{v, "2025-11-25"}, true},
		{"modern request", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "echo"}, true},
		{"base64 name", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?ZWNobw==?="}, true},
		{"method differs", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/list", "Mcp-Name", "echo"}, false},
		{"name differs", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "get-env"}, false},
		{"base64 name differs", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?Z2V0LWVudg==?="}, false},
		{"bad base64", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "=?base64?***?="}, false},
		{"no Mcp-Name", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call"}, false},
		{"no Mcp-Method", modern, []string{v, "2026-07-28", "Mcp-Name", "echo"}, false},
		{"no version header", modern, []string{"Mcp-Method", "tools/call", "Mcp-Name", "echo"}, false},
		{"version differs from _meta", modern, []string{v, "2025-11-25", "Mcp-Method", "tools/call", "Mcp-Name", "echo"}, false},
		{"modern header, no _meta", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "echo"}, false},
		{"legacy request with a wrong Mcp-Method", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, []string{"Mcp-Method", "ping"}, false},
		{"escaped body, plain header", `{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"\u0065cho","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			[]string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "echo"}, true},
		{"modern batch", `[` + modern + `]`, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "echo"}, false},
		{"non-ASCII header", modern, []string{v, "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "ech\xc3\xb6"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := mcpmsg.Decode([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			herr := mcpmsg.CheckHeaders(post(tc.body, tc.header...).Header, b)
			if (herr == nil) != tc.ok {
				t.Fatalf("got %v", herr)
			}
			if herr != nil && (herr.Code != mcpmsg.CodeHeaderMismatch || herr.Status != http.StatusBadRequest) {
				t.Fatalf("refused with %d/%d, want 400/-32020", herr.Status, herr.Code)
			}
		})
	}
}
