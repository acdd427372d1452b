package resource_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// session is a raw Streamable HTTP session: the wire as clients see it.
type session struct {
	url, token, id string
}

func newSession(t *testing.T, mcpURL, token string) *session {
	s := &session{url: mcpURL, token: token}
	s.rpc(t, "initialize", map[string]any{"protocolVersion": "2025-11-25", "capabilities": map[string]any{},
		"clientInfo": map[string]any{"name": "results-test", "version": "1"}})
	return s
}

// rpc sends one JSON-RPC request and returns its result as raw JSON,
// whether the server answered with JSON or SSE.
func (s *session) rpc(t *testing.T, method string, params any) json.RawMessage {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, s.url, s.token, s.id, bytes.NewReader(body)))
	if id := resp.Header.Get("Mcp-Session-Id"); id != "" {
		s.id = id
	}
	raw, _ := io.ReadAll(resp.Body)
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for sc := bufio.NewScanner(bytes.NewReader(raw)); sc.Scan(); {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				raw = []byte(data)
			}
		}
	}
	var out struct {
		Result json.RawMessage `json:"result"`
		Error  any             `json:"error"`
	}
	if resp.StatusCode != http.StatusOK || json.Unmarshal(raw, &out) != nil || out.Error != nil {
		t.Fatalf("%s: %d %s", method, resp.StatusCode, raw)
	}
	return out.Result
}

// checkCallToolResult holds a result to the CallToolResult rules of the
// MCP schema (2025-06-18 and later): content is a list of typed blocks,
// isError a boolean, structuredContent an object. It returns the result.
func checkCallToolResult(t *testing.T, tool string, raw json.RawMessage) map[string]any {
	t.Helper()
	var res map[string]any
	if err := json.Unmarshal(raw, &res); err != nil {
		t.Fatalf("%s: the result is not an object: %s", tool, raw)
	}
	content, ok := res["content"].([]any)
	if !ok {
		t.Fatalf("%s: content is not a list: %s", tool, raw)
	}
	for _, c := range content {
		block, ok := c.(map[string]any)
		if !ok || block["type"] != "text" {
			t.Fatalf("%s: a content block is not a text block: %v", tool, c)
		}
		if _, ok := block["text"].(string); !ok {
			t.Fatalf("%s: a text block without text: %v", tool, c)
		}
	}
	if v, ok := res["isError"]; ok {
		if _, isBool := v.(bool); !isBool {
			t.Fatalf("%s: isError is not a boolean: %v", tool, v)
		}
	}
	if v, ok := res["structuredContent"]; ok {
		if _, isObject := v.(map[string]any); !isObject {
			t.Fatalf("%s: structuredContent is not an object (the TypeScript and Python SDKs refuse it): %v", tool, v)
		}
	}
	return res
}

// Every tool result is one the strictest clients accept: structured
// content valid against the tool's outputSchema, the same JSON as text,
// and tool failures as isError results without structured content.
func TestTools_ResultsMatchTheirOutputSchema(t *testing.T) {
	t.Parallel()
	stack, _, tok := full(t, testkit.AuthOptions{}, "read write")
	mcp := newSession(t, stack.Resource.URL(), tok)

	var listed struct {
		Tools []struct {
			Name         string          `json:"name"`
			OutputSchema json.RawMessage `json:"outputSchema"`
		} `json:"tools"`
	}
	if err := json.Unmarshal(mcp.rpc(t, "tools/list", map[string]any{}), &listed); err != nil {
		t.Fatal(err)
	}
	schemas := map[string]*jsonschema.Schema{}
	for _, tool := range listed.Tools {
		if len(tool.OutputSchema) == 0 {
			t.Errorf("%s declares no outputSchema", tool.Name)
			continue
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(tool.OutputSchema))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		loc := "urn:tmcp:tool:" + tool.Name
		if err := c.AddResource(loc, doc); err != nil {
			t.Fatal(err)
		}
		if schemas[tool.Name], err = c.Compile(loc); err != nil {
			t.Fatalf("%s: outputSchema does not compile: %v", tool.Name, err)
		}
	}
	call := func(name string, args map[string]any) map[string]any {
		t.Helper()
		return checkCallToolResult(t, name, mcp.rpc(t, "tools/call", map[string]any{"name": name, "arguments": args}))
	}
	valid := func(name string, res map[string]any) map[string]any {
		t.Helper()
		if res["isError"] == true {
			t.Fatalf("%s failed: %v", name, res["content"])
		}
		sc, ok := res["structuredContent"].(map[string]any)
		if !ok {
			t.Fatalf("%s: no structuredContent", name)
		}
		if err := schemas[name].Validate(sc); err != nil {
			t.Fatalf("%s: structuredContent does not match its outputSchema: %v", name, err)
		}
		var text any
		first := res["content"].([]any)[0].(map[string]any)["text"].(string)
		if err := json.Unmarshal([]byte(first), &text); err != nil || !reflect.DeepEqual(text, any(sc)) {
			t.Fatalf("%s: the text content does not mirror structuredContent: %s", name, first)
		}
		return sc
	}

	valid("whoami", call("whoami", map[string]any{}))
	empty := valid("list_tasks", call("list_tasks", map[string]any{}))
	if tasks, ok := empty["tasks"].([]any); !ok || len(tasks) != 0 {
		t.Fatalf(`list_tasks with no tasks = %v, want {"tasks": []}`, empty)
	}
	created := valid("create_task", call("create_task", map[string]any{"title": "schema", "description": "d"}))
	id := created["id"]
	valid("get_task", call("get_task", map[string]any{"id": id}))
	valid("update_task", call("update_task", map[string]any{"id": id, "done": true}))
	if list := valid("list_tasks", call("list_tasks", map[string]any{})); len(list["tasks"].([]any)) != 1 {
		t.Fatalf("list_tasks = %v", list)
	}
	valid("delete_task", call("delete_task", map[string]any{"id": id}))

	// Failures: isError, a message, no structured content.
	for _, failing := range []struct {
		tool string
		args map[string]any
	}{{"get_task", map[string]any{"id": id}}, {"get_task", map[string]any{"id": -1}}, {"create_task", map[string]any{"title": ""}}} {
		res := call(failing.tool, failing.args)
		if res["isError"] != true || res["structuredContent"] != nil {
			t.Errorf("%s %v: %v, want an isError result without structuredContent", failing.tool, failing.args, res)
		}
	}
	if len(schemas) != 6 {
		t.Fatalf("%d tools with schemas, want 6", len(schemas))
	}
}
