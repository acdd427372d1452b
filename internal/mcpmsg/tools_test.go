package mcpmsg_test

import (
	"encoding/json"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

func visible(name string) bool { return name != "delete" && name != "get-env" }

// The filter drops refused tools from every list, keeps the rest of the
// message byte for byte, and reads answers as strictly as requests.
func TestFilterTools_DropsRefusedToolsAndKeepsTheRest(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"one list", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"delete","x":1},{"name":"add"}],"nextCursor":"c"}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"add"}],"nextCursor":"c"}}`},
		{"escaped name", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"d\u0065lete"},{"name":"echo"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}`},
		{"tool without a name", `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"title":"x"},{"name":7},{"name":"echo"}]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}]}}`},
		{"batch", `[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"get-env"}]}},{"jsonrpc":"2.0","id":2,"result":{"content":[]}}]`,
			`[{"jsonrpc":"2.0","id":1,"result":{"tools":[]}},{"jsonrpc":"2.0","id":2,"result":{"content":[]}}]`},
		{"nothing to drop", `{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"echo"} ]}}`,
			`{"jsonrpc":"2.0","id":1,"result":{"tools":[ {"name":"echo"} ]}}`},
		{"a notification", `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`, `{"jsonrpc":"2.0","method":"notifications/tools/list_changed"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := mcpmsg.FilterTools([]byte(tc.in), visible)
			if err != nil || string(got) != tc.want {
				t.Fatalf("got %s, %v\nwant %s", got, err, tc.want)
			}
			if !json.Valid(got) {
				t.Fatalf("not JSON: %s", got)
			}
		})
	}
}

// An answer that could be read two ways is not passed on: which tools it
// lists cannot be judged.
func TestFilterTools_RefusesAnswersReadTwoWays(t *testing.T) {
	for _, in := range []string{
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo","Name":"delete"}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"}],"Tools":[{"name":"delete"}]}}`,
		`{"jsonrpc":"2.0","id":1,"Result":{"tools":[{"name":"delete"}]}}`,
		"\xef\xbb\xbf" + `{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete"}]}}`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"delete"}]}} trailing`,
		`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"\ud800"}]}}`,
	} {
		if got, err := mcpmsg.FilterTools([]byte(in), visible); err == nil {
			t.Errorf("%s passed as %s", in, got)
		}
	}
}
