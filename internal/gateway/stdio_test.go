package gateway

import (
	"bytes"
	"strings"
	"testing"
)

// A line over the limit is not kept: only the response it is reaches
// tooLarge, with the id it answers, wherever the id stands; the lines
// around it pass whole.
func TestReadMessages_ALineOverTheLimitNamesOnlyItsCall(t *testing.T) {
	pad := strings.Repeat(`x\"{}[],:`, 300)
	cases := []struct {
		name, line, id string
	}{
		{"IDFirst", `{"jsonrpc":"2.0","id":7,"result":{"text":"` + pad + `"}}`, "7"},
		{"IDLast", `{"jsonrpc":"2.0","result":{"text":"` + pad + `","id":1},"id":"a,b}"}`, `"a,b}"`},
		{"Error", `{"error":{"code":1,"message":"` + pad + `"}, "id" : 42 }`, "42"},
		{"Request", `{"jsonrpc":"2.0","id":3,"method":"sampling/createMessage","params":{"x":"` + pad + `"}}`, ""},
		{"Notification", `{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"` + pad + `"}}`, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := "{\"id\":1,\"result\":{}}\n" + c.line + "\r\n{\"id\":2,\"result\":{}}\n"
			var got []string
			var over []string
			readMessages(strings.NewReader(in), 1000, func(m []byte) { got = append(got, string(m)) },
				func(id []byte, size int64) { over = append(over, string(id)) })
			if len(got) != 2 || got[0] != `{"id":1,"result":{}}` || got[1] != `{"id":2,"result":{}}` {
				t.Fatalf("messages around the long line: %q", got)
			}
			if len(over) != 1 || over[0] != c.id {
				t.Fatalf("over the limit: %q, want the id %q", over, c.id)
			}
		})
	}
}

// Lines up to the limit pass whole, however the reads split them.
func TestReadMessages_LinesUpToTheLimitPass(t *testing.T) {
	big := `{"id":1,"result":{"t":"` + strings.Repeat("y", 200<<10) + `"}}`
	var got [][]byte
	readMessages(strings.NewReader(big+"\n"+big), len(big), func(m []byte) { got = append(got, m) }, func([]byte, int64) { t.Fatal("over the limit") })
	if len(got) != 2 || !bytes.Equal(got[0], []byte(big)) || !bytes.Equal(got[1], []byte(big)) {
		t.Fatalf("got %d messages", len(got))
	}
}
