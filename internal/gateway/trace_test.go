package gateway

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// A 2026-07-28 request reaches the backend with the gateway's
// traceparent last in params._meta, every byte the resource server judged
// still there; other messages pass unchanged.
func TestWithTraceparent_OnlyIn2026RequestsMeta(t *testing.T) {
	const tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	cases := []struct {
		name, in, want string
	}{
		{"Request", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x",` + meta + `}}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","traceparent":"` + tp + `"}}}`},
		{"ClientTraceparentComesFirst", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"traceparent":"client","io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":{"traceparent":"client","io.modelcontextprotocol/protocolVersion":"2026-07-28","traceparent":"` + tp + `"}}}`},
		{"NestedMetaElsewhere", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"_meta":{}},` + meta + `}}`,
			`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"_meta":{}},"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","traceparent":"` + tp + `"}}}`},
		{"OlderProtocol", `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`, `{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}`},
		{"Notification", `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{` + meta + `}}`, `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{` + meta + `}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			body, err := mcpmsg.Decode([]byte(tc.in))
			if err != nil {
				t.Fatal(err)
			}
			got := string(withTraceparent(body, tp))
			if got != tc.want {
				t.Fatalf("got  %s\nwant %s", got, tc.want)
			}
			if !json.Valid([]byte(got)) || !strings.Contains(got, tc.in[:len(tc.in)-3]) {
				t.Fatalf("not the judged bytes plus one member: %s", got)
			}
		})
	}
}
