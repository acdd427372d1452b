package gateway

import (
	"testing"
)

// A 2025 server's answer reaches a 2026-07-28 client as the revision has
// it: the client's id, resultType on every result, ttlMs and cacheScope on
// the cacheable ones, no tool execution, resource-not-found as invalid
// params; what the server already said in the new way is kept.
func TestModernAnswer_WhatTheRevisionRequires(t *testing.T) {
	cases := []struct {
		name, method, answer, want string
	}{
		{"call", "tools/call", `{"jsonrpc":"2.0","id":"tmcp-1","result":{"content":[]}}`,
			`{"id":7,"jsonrpc":"2.0","result":{"content":[],"resultType":"complete"}}`},
		{"list", "tools/list", `{"jsonrpc":"2.0","id":"tmcp-1","result":{"tools":[{"name":"a","inputSchema":{"type":"object"},"execution":{"taskSupport":"optional"}}]}}`,
			`{"id":7,"jsonrpc":"2.0","result":{"cacheScope":"private","resultType":"complete","tools":[{"inputSchema":{"type":"object"},"name":"a"}],"ttlMs":0}}`},
		{"read keeps the server's cache hints", "resources/read", `{"jsonrpc":"2.0","id":"tmcp-1","result":{"contents":[],"ttlMs":5000,"cacheScope":"public"}}`,
			`{"id":7,"jsonrpc":"2.0","result":{"cacheScope":"public","contents":[],"resultType":"complete","ttlMs":5000}}`},
		{"input_required passes", "tools/call", `{"jsonrpc":"2.0","id":"tmcp-1","result":{"resultType":"input_required","requestState":"x"}}`,
			`{"id":7,"jsonrpc":"2.0","result":{"requestState":"x","resultType":"input_required"}}`},
		{"resource not found", "resources/read", `{"jsonrpc":"2.0","id":"tmcp-1","error":{"code":-32002,"message":"no such resource"}}`,
			`{"error":{"code":-32602,"message":"no such resource"},"id":7,"jsonrpc":"2.0"}`},
		{"other errors as they are", "tools/call", `{"jsonrpc":"2.0","id":"tmcp-1","error":{"code":-32601,"message":"nope"}}`,
			`{"error":{"code":-32601,"message":"nope"},"id":7,"jsonrpc":"2.0"}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(modernAnswer(c.method, []byte("7"), []byte(c.answer))); got != c.want {
				t.Fatalf("got  %s\nwant %s", got, c.want)
			}
		})
	}
}

// withID changes the id alone: the params the policies judged reach the
// server as they were.
func TestWithID_KeepsTheParams(t *testing.T) {
	got := string(withID([]byte(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"b":1,"a":"\u00e9"}}}`), "tmcp-3"))
	want := `{"id":"tmcp-3","jsonrpc":"2.0","method":"tools/call","params":{"name":"x","arguments":{"b":1,"a":"\u00e9"}}}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
