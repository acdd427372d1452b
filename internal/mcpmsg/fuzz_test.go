package mcpmsg_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// goView is how a Go server (encoding/json: names matched ignoring case,
// the last match kept) reads what a policy judges.
type goView struct {
	Method string `json:"method"`
	Params struct {
		Name string `json:"name"`
		URI  string `json:"uri"`
		Ref  struct {
			Type string `json:"type"`
			Name string `json:"name"`
			URI  string `json:"uri"`
		} `json:"ref"`
	} `json:"params"`
}

// exactView is how a JavaScript server (JSON.parse: names matched
// exactly, the last one kept) reads it; Go's decoding into maps does the
// same.
func exactView(raw []byte) (method, name, uri, refType, refName, refURI string) {
	var m map[string]any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	if d.Decode(&m) != nil {
		return
	}
	str := func(v any) string { s, _ := v.(string); return s }
	method = str(m["method"])
	params, _ := m["params"].(map[string]any)
	name, uri = str(params["name"]), str(params["uri"])
	ref, _ := params["ref"].(map[string]any)
	return method, name, uri, str(ref["type"]), str(ref["name"]), str(ref["uri"])
}

// judged is the target a policy judged for m, as the readers name it.
func judged(m mcpmsg.Message) (name, uri string) {
	switch m.Method {
	case mcpmsg.MethodToolsCall:
		return m.Tool, ""
	case mcpmsg.MethodPromptsGet:
		return m.Prompt, ""
	case mcpmsg.MethodResourcesRead, mcpmsg.MethodResourcesSub, mcpmsg.MethodResourcesUnsub:
		return "", m.Resource
	}
	return "", ""
}

// Whatever Decode accepts, a Go server and a JavaScript server read the
// same method and target that Decode read: the gateway forwards those
// bytes, so what it judged is what runs.
func FuzzDecode_ReadersAgree(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"echo","arguments":{"a":1}}}`,
		`{"jsonrpc":"2.0","id":"x","method":"tools\/call","params":{"name":"\u0065cho"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get-env","Name":"echo"}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"demo://x"}},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`{"jsonrpc":"2.0","id":2,"method":"prompts/get","params":{"name":"p","_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}`,
		`{"jsonrpc":"2.0","id":3,"method":"completion/complete","params":{"ref":{"type":"ref/prompt","name":"p"}}}`,
		`{"params":{"uri":"file:///a"},"method":"resources/subscribe","id":4,"jsonrpc":"2.0"}`,
		"\xef\xbb\xbf{}",
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a\ud83d\ude00"}}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		b, err := mcpmsg.Decode(body)
		if err != nil {
			return
		}
		for _, m := range b.Messages {
			var g goView
			if err := json.Unmarshal(m.Raw, &g); err != nil {
				t.Fatalf("Go cannot read a message Decode accepted: %v\n%q", err, m.Raw)
			}
			method, name, uri, refType, refName, refURI := exactView(m.Raw)
			if g.Method != m.Method || method != m.Method {
				t.Fatalf("method: judged %q, Go reads %q, JavaScript %q\n%q", m.Method, g.Method, method, m.Raw)
			}
			wantName, wantURI := judged(m)
			if m.Method == mcpmsg.MethodCompletion {
				if g.Params.Ref.Name != refName || g.Params.Ref.URI != refURI || g.Params.Ref.Type != refType {
					t.Fatalf("completion ref: Go %+v, JavaScript %q %q %q\n%q", g.Params.Ref, refType, refName, refURI, m.Raw)
				}
				if refType == "ref/prompt" && refName != m.Prompt || refType == "ref/resource" && refURI != m.Resource {
					t.Fatalf("completion ref judged %q/%q, read %q %q\n%q", m.Prompt, m.Resource, refName, refURI, m.Raw)
				}
				continue
			}
			if wantName != "" && (g.Params.Name != wantName || name != wantName) {
				t.Fatalf("name: judged %q, Go reads %q, JavaScript %q\n%q", wantName, g.Params.Name, name, m.Raw)
			}
			if wantURI != "" && (g.Params.URI != wantURI || uri != wantURI) {
				t.Fatalf("uri: judged %q, Go reads %q, JavaScript %q\n%q", wantURI, g.Params.URI, uri, m.Raw)
			}
		}
	})
}

// Whatever FilterTools passes on, no reader finds a refused tool in it.
func FuzzFilterTools_NoRefusedToolPasses(f *testing.F) {
	f.Add([]byte(`{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"echo"},{"name":"delete"}]}}`))
	f.Add([]byte(`[{"jsonrpc":"2.0","id":1,"result":{"tools":[{"name":"d\u0065lete"}]}}]`))
	f.Fuzz(func(t *testing.T, msg []byte) {
		out, err := mcpmsg.FilterTools(msg, visible)
		if err != nil {
			return
		}
		var ms []json.RawMessage
		if bytes.HasPrefix(bytes.TrimLeft(out, " \t\r\n"), []byte("[")) {
			if json.Unmarshal(out, &ms) != nil {
				return
			}
		} else {
			ms = []json.RawMessage{out}
		}
		for _, m := range ms {
			var g struct {
				Result struct {
					Tools []struct {
						Name string `json:"name"`
					} `json:"tools"`
				} `json:"result"`
			}
			var e struct {
				Result map[string]any `json:"result"`
			}
			_ = json.Unmarshal(m, &g)
			_ = json.Unmarshal(m, &e)
			for _, tool := range g.Result.Tools {
				if !visible(tool.Name) {
					t.Fatalf("Go reads the refused tool %q in %s", tool.Name, out)
				}
			}
			tools, _ := e.Result["tools"].([]any)
			for _, tool := range tools {
				obj, _ := tool.(map[string]any)
				if n, _ := obj["name"].(string); !visible(n) {
					t.Fatalf("JavaScript reads the refused tool %q in %s", n, out)
				}
			}
		}
	})
}
