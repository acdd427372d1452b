package mcpmsg_test

import (
	"strings"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// What the policies read is what any decoder reads: escapes are decoded
// before a method or name is judged.
func TestDecode_ReadsEscapedSpellingsAsTheirValue(t *testing.T) {
	for _, tc := range []struct {
		name, body, method, tool string
	}{
		{"plain", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo"}}`, "tools/call", "echo"},
		{"escaped slash", `{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"echo"}}`, "tools/call", "echo"},
		{"unicode escape", `{"jsonrpc":"2.0","id":1,"method":"\u0074ools/call","params":{"name":"\u0065cho"}}`, "tools/call", "echo"},
		{"params first", `{"params":{"name":"echo"},"jsonrpc":"2.0","id":"a","method":"tools/call"}`, "tools/call", "echo"},
		{"whitespace", " \r\n\t{ \"jsonrpc\" : \"2.0\" ,\n \"id\" : 7 , \"method\" : \"tools/call\" , \"params\" : { \"name\" : \"echo\" , \"arguments\" : null } }\n", "tools/call", "echo"},
		{"surrogate pair", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\ud83d\ude00"}}`, "tools/call", "😀"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := mcpmsg.Decode([]byte(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			if m := b.Messages[0]; m.Method != tc.method || m.Tool != tc.tool || m.Kind != mcpmsg.KindRequest {
				t.Fatalf("read %+v", m)
			}
		})
	}
}

// A body two decoders could read two ways is refused, with a JSON-RPC
// error code, never passed as "nothing to judge".
func TestDecode_RefusesWhatDecodersReadDifferently(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		code       int
	}{
		{"BOM", "\xef\xbb\xbf" + `{"jsonrpc":"2.0","id":1,"method":"ping"}`, mcpmsg.CodeParseError},
		{"duplicate method", `{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call","params":{"name":"x"}}`, mcpmsg.CodeParseError},
		{"case-variant name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env","Name":"echo"}}`, mcpmsg.CodeParseError},
		{"Kelvin-sign variant", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"k":1,"` + "\u212a" + `":2}}}`, mcpmsg.CodeParseError},
		{"long-s variant", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","argument` + "\u017f" + `":{},"arguments":{}}}`, mcpmsg.CodeInvalidRequest},
		{"escaped duplicate", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","n\u0061me":"b"}}`, mcpmsg.CodeParseError},
		{"duplicate deep", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":{"p":1,"P":2}}}}`, mcpmsg.CodeParseError},
		{"misspelled method alone", `{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"x"}}`, mcpmsg.CodeInvalidRequest},
		{"misspelled name alone", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"NAME":"delete"}}`, mcpmsg.CodeInvalidRequest},
		{"name of the wrong type", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":1}}`, mcpmsg.CodeInvalidParams},
		{"uri of the wrong type", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":1}}`, mcpmsg.CodeInvalidParams},
		{"no name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"arguments":{}}}`, mcpmsg.CodeInvalidParams},
		{"params not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["echo"]}`, mcpmsg.CodeInvalidRequest},
		{"arguments not an object", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":"x"}}`, mcpmsg.CodeInvalidParams},
		{"NUL in a name", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo\u0000x"}}`, mcpmsg.CodeInvalidParams},
		{"lone high surrogate", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete\ud800"}}`, mcpmsg.CodeParseError},
		{"lone low surrogate", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\udc00"}}`, mcpmsg.CodeParseError},
		{"invalid UTF-8", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"e\xffcho\"}}", mcpmsg.CodeParseError},
		{"UTF-16", "{\x00\"\x00j\x00", mcpmsg.CodeParseError},
		{"trailing data", `{"jsonrpc":"2.0","id":1,"method":"ping"}{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"x"}}`, mcpmsg.CodeParseError},
		{"raw control character", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"a\tb\"}}", mcpmsg.CodeParseError},
		{"no jsonrpc", `{"id":1,"method":"ping"}`, mcpmsg.CodeInvalidRequest},
		{"jsonrpc 1.0", `{"jsonrpc":"1.0","id":1,"method":"ping"}`, mcpmsg.CodeInvalidRequest},
		{"fractional id", `{"jsonrpc":"2.0","id":1.0,"method":"ping"}`, mcpmsg.CodeInvalidRequest},
		{"exponent id", `{"jsonrpc":"2.0","id":1e2,"method":"ping"}`, mcpmsg.CodeInvalidRequest},
		{"huge id", `{"jsonrpc":"2.0","id":9007199254740993,"method":"ping"}`, mcpmsg.CodeInvalidRequest},
		{"null id", `{"jsonrpc":"2.0","id":null,"method":"ping"}`, mcpmsg.CodeInvalidRequest},
		{"request and response", `{"jsonrpc":"2.0","id":1,"method":"ping","result":{}}`, mcpmsg.CodeInvalidRequest},
		{"empty batch", `[]`, mcpmsg.CodeInvalidRequest},
		{"nested batch", `[[{"jsonrpc":"2.0","id":1,"method":"ping"}]]`, mcpmsg.CodeParseError},
		{"empty body", ``, mcpmsg.CodeParseError},
		{"single quotes", `{'jsonrpc':'2.0'}`, mcpmsg.CodeParseError},
		{"too deep", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{"x":` + strings.Repeat("[", 200) + strings.Repeat("]", 200) + `}}}`, mcpmsg.CodeParseError},
		{"bad ref type", `{"jsonrpc":"2.0","id":1,"method":"completion/complete","params":{"ref":{"type":"ref/other","name":"x"}}}`, mcpmsg.CodeInvalidParams},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := mcpmsg.Decode([]byte(tc.body))
			e, ok := err.(*mcpmsg.Error)
			if !ok || e.Code != tc.code {
				t.Fatalf("got %v, want code %d", err, tc.code)
			}
		})
	}
}

// Every call a policy judges names its target; completion/complete names
// the prompt or resource it completes for.
func TestDecode_TargetsOfEveryJudgedCall(t *testing.T) {
	body := `[{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}},
	{"jsonrpc":"2.0","id":"2","method":"prompts/get","params":{"name":"p","arguments":{"a":"b"}}},
	{"jsonrpc":"2.0","id":3,"method":"resources/read","params":{"uri":"file:///r"}},
	{"jsonrpc":"2.0","id":4,"method":"resources/subscribe","params":{"uri":"file:///s"}},
	{"jsonrpc":"2.0","id":5,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"cp"},"argument":{"name":"a","value":""}}},
	{"jsonrpc":"2.0","id":6,"method":"completion/complete","params":{"ref":{"type":"ref/resource","uri":"file:///{x}"},"argument":{"name":"x","value":""}}},
	{"jsonrpc":"2.0","method":"notifications/initialized"},
	{"jsonrpc":"2.0","id":7,"result":{}}]`
	b, err := mcpmsg.Decode([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	want := []mcpmsg.Message{{Tool: "t"}, {Prompt: "p"}, {Resource: "file:///r"}, {Resource: "file:///s"}, {Prompt: "cp"}, {Resource: "file:///{x}"}, {}, {}}
	kinds := []mcpmsg.Kind{1, 1, 1, 1, 1, 1, mcpmsg.KindNotification, mcpmsg.KindResponse}
	if !b.Batch || len(b.Messages) != len(want) {
		t.Fatalf("read %d messages (batch %v)", len(b.Messages), b.Batch)
	}
	for i, m := range b.Messages {
		if m.Tool != want[i].Tool || m.Prompt != want[i].Prompt || m.Resource != want[i].Resource || m.Kind != kinds[i] {
			t.Errorf("message %d: %+v", i, m)
		}
		if !strings.HasPrefix(strings.TrimSpace(string(m.Raw)), "{") || !strings.HasSuffix(string(m.Raw), "}") {
			t.Errorf("message %d's bytes: %q", i, m.Raw)
		}
	}
	if b.Messages[1].IDKey != `s2` || b.Messages[0].IDKey != "n1" {
		t.Errorf("id keys %q %q", b.Messages[0].IDKey, b.Messages[1].IDKey)
	}
	requests := 0
	for _, m := range b.Messages {
		if m.Kind == mcpmsg.KindRequest {
			requests++
		}
	}
	if requests != 6 || b.Opens() {
		t.Errorf("requests %d, opens %v", requests, b.Opens())
	}
	// An escaped initialize opens a session like any other.
	if b, err := mcpmsg.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"in\u0069tialize","params":{}}`)); err != nil || !b.Opens() {
		t.Fatalf("escaped initialize: %v", err)
	}
}

// An object with many members costs a linear read, its duplicates still
// found: past a few members the names go in a map.
func TestDecode_ManyMembersStillFindDuplicates(t *testing.T) {
	var sb strings.Builder
	sb.WriteString(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","arguments":{`)
	for i := range 5000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + itoa(i) + `":1`)
	}
	ok := sb.String() + `}}}`
	if _, err := mcpmsg.Decode([]byte(ok)); err != nil {
		t.Fatalf("5000 distinct members: %v", err)
	}
	dup := sb.String() + `,"KA0":2}}}`
	if _, err := mcpmsg.Decode([]byte(dup)); err == nil {
		t.Fatal("a case-variant duplicate among 5000 members passed")
	}
}

func itoa(i int) string {
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{byte('0' + i%10)}, b...)
	}
	return string(b)
}

// BenchmarkDecode reads a tools/call as MCP clients send it.
func BenchmarkDecode(b *testing.B) {
	body := []byte(`{"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"create_task","arguments":{"title":"Write the report","description":"Quarterly numbers, with charts","due":"2026-12-31","tags":["work","q4"]},"_meta":{"progressToken":7}}}`)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := mcpmsg.Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}

// MetaEnd points at the brace that closes params._meta in the body,
// whether params comes after the method (read in place) or before it
// (read once the method is known), in a batch too.
func TestDecode_MetaEndIsTheBraceClosingMeta(t *testing.T) {
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","x":{"y":1}}`
	for _, body := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a",` + meta + `}}`,
		`{"jsonrpc":"2.0","id":1,"params":{"name":"a",` + meta + `},"method":"tools/call"}`,
		` {"params":{` + meta + `,"name":"a"},"jsonrpc":"2.0","id":1,"method":"tools/call"}`,
		`[{"jsonrpc":"2.0","id":0,"method":"ping"},{"jsonrpc":"2.0","id":1,"params":{"name":"a",` + meta + `},"method":"tools/call"}]`,
	} {
		b, err := mcpmsg.Decode([]byte(body))
		if err != nil {
			t.Fatalf("%s: %v", body, err)
		}
		m := b.Messages[len(b.Messages)-1]
		want := strings.Index(body, `"y":1}}`) + len(`"y":1}`)
		if m.MetaEnd != want || body[m.MetaEnd] != '}' {
			t.Errorf("%s: MetaEnd %d, want %d", body, m.MetaEnd, want)
		}
	}
	if b, _ := mcpmsg.Decode([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping"}`)); b.Messages[0].MetaEnd != 0 {
		t.Errorf("no _meta: MetaEnd %d, want 0", b.Messages[0].MetaEnd)
	}
}
