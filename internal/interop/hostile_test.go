package interop_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// gatewayTarget is a gateway in front of one real backend, with what the
// hostile corpus protects there.
type gatewayTarget struct {
	stack *testkit.Stack
	// forwarded counts the messages that reached the backend.
	forwarded func() int
	// ran counts what the backend itself says it executed of the
	// protected things, when it can say (nil otherwise).
	ran func() int
	// tool, prompt and resource need write; allowed needs only read.
	tool, allowed, prompt, resource string
	// resourceSpellings are other spellings of resource's resource.
	resourceSpellings []string
}

// policyFor is the gateway's policy for a target's names: each needs
// write.
func policyFor(c *resource.Config, tool, prompt string, resourceRules ...string) {
	must := func(patterns ...string) resource.ScopePolicy {
		var rules []string
		for _, p := range patterns {
			rules = append(rules, p+"=write")
		}
		p, err := resource.ParseScopePolicy(rules)
		if err != nil {
			panic(err)
		}
		return p
	}
	c.ToolPolicy, c.PromptPolicy, c.ResourcePolicy = must(tool), must(prompt), must(resourceRules...)
	c.HideUnauthorized = true
}

// recordingProxy passes requests to backend, counting the POSTs that
// carry a body: the messages the backend got.
func recordingProxy(t *testing.T, backend string) (string, func() int) {
	t.Helper()
	u, err := url.Parse(backend)
	if err != nil {
		t.Fatal(err)
	}
	var n atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(&url.URL{Scheme: u.Scheme, Host: u.Host})
	rp.FlushInterval = -1
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, _ := io.ReadAll(r.Body)
			if len(bytes.TrimSpace(body)) > 0 {
				n.Add(1)
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + u.Path, func() int { return int(n.Load()) }
}

// startEverything runs the reference "everything" server (Node) on a
// transport of its (streamableHttp at /mcp, sse at /sse) and returns its
// port.
func startEverything(t *testing.T, dir, transport string) int {
	t.Helper()
	port := testkit.FreePort(t)
	cmd := exec.Command(node(dir), everythingScript(dir), transport)
	cmd.Env = append(os.Environ(), fmt.Sprintf("PORT=%d", port))
	var logs bytes.Buffer // each process its own: exec copies output in goroutines of its own
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("the everything server (%s):\n%s", transport, logs.String())
		}
	})
	testkit.WaitForPort(t, port, 10*time.Second)
	return port
}

func everythingScript(dir string) string {
	return filepath.Join(dir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
}

const everythingDoc = "demo://resource/static/document/architecture.md"

var everythingDocSpellings = []string{
	"DEMO://resource/static/document/architecture.md", "demo://RESOURCE/static/document/architecture.md",
	"demo://resource/static/x/../document/architecture.md", "demo://resource/static/./document/architecture.md",
	"demo://resource/static/document/%61rchitecture.md", "demo://resource/static/%64ocument/architecture.md",
}

func everythingTarget(t *testing.T, stack *testkit.Stack, forwarded func() int) gatewayTarget {
	return gatewayTarget{stack: stack, forwarded: forwarded, tool: "get-env", allowed: "get-sum", prompt: "simple-prompt",
		resource: everythingDoc, resourceSpellings: everythingDocSpellings}
}

// notesServer is a team's own server written in Go with mcp-go, and a
// file-style one: its resources are files under a root, resolved as a
// file server resolves paths (case-insensitive scheme, localhost, percent
// decoding, dot segments). It counts what it runs of the protected
// things by its own reading.
func notesServer(t *testing.T) (string, func() int) {
	t.Helper()
	var ran atomic.Int64
	m := server.NewMCPServer("notes", "1.0.0", server.WithToolCapabilities(false), server.WithPromptCapabilities(false),
		server.WithResourceCapabilities(false, false))
	text := func(s string) *mcp.CallToolResult { return mcp.NewToolResultText(s) }
	m.AddTool(mcp.NewTool("delete_note"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		ran.Add(1)
		return text("deleted"), nil
	})
	m.AddTool(mcp.NewTool("list_notes"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return text("notes"), nil
	})
	m.AddPrompt(mcp.NewPrompt("secret_plan"), func(context.Context, mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
		ran.Add(1)
		return mcp.NewGetPromptResult("plan", []mcp.PromptMessage{mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent("x"))}), nil
	})
	files := map[string]string{"/private/payroll.txt": "salaries", "/public/readme.txt": "hello"}
	m.AddResourceTemplate(mcp.NewResourceTemplate("file:///{+path}", "files"),
		func(_ context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
			u, err := url.Parse(req.Params.URI)
			if err != nil || !strings.EqualFold(u.Scheme, "file") || u.Host != "" && !strings.EqualFold(u.Host, "localhost") {
				return nil, fmt.Errorf("not a file")
			}
			p, err := url.PathUnescape(u.EscapedPath())
			if err != nil {
				return nil, err
			}
			p = path.Clean("/" + p)
			if strings.HasPrefix(p, "/private/") {
				ran.Add(1)
			}
			content, ok := files[p]
			if !ok {
				return nil, fmt.Errorf("no such file")
			}
			return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, Text: content}}, nil
		})
	srv := httptest.NewServer(server.NewStreamableHTTPServer(m))
	t.Cleanup(srv.Close)
	return srv.URL + "/mcp", func() int { return int(ran.Load()) }
}

var payrollSpellings = []string{
	"FILE:///private/payroll.txt", "file://localhost/private/payroll.txt", "file://LOCALHOST/private/payroll.txt",
	"file:/private/payroll.txt", "file:///public/../private/payroll.txt", "file:///./private/./payroll.txt",
	"file:///%70rivate/payroll.txt", "file:///private/%70ayroll.txt", "file:///public/%2E%2E/private/payroll.txt",
	"file:///../../private/payroll.txt",
}

// hostileCase is one request of the corpus.
type hostileCase struct {
	name   string
	method string
	header map[string]string
	body   []byte
}

func rpc(id int, method, params string) string {
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":%s,"params":%s}`, id, method, params)
}

// escapeAll writes every letter of s as a \u escape.
func escapeAll(s string) string {
	var b strings.Builder
	for _, r := range s {
		fmt.Fprintf(&b, `\u%04x`, r)
	}
	return b.String()
}

func utf16le(s string) []byte {
	var out []byte
	for _, u := range utf16.Encode([]rune(s)) {
		out = append(out, byte(u), byte(u>>8))
	}
	return out
}

func gzipped(s string) []byte {
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	w.Write([]byte(s))
	w.Close()
	return b.Bytes()
}

// corpus is the hostile spellings of a call of tg's protected things,
// each of which some common decoder would read as that call.
func corpus(tg gatewayTarget) []hostileCase {
	tool, allowed, prompt, res := tg.tool, tg.allowed, tg.prompt, tg.resource
	call := func(name string) string { return fmt.Sprintf(`{"name":%q,"arguments":{}}`, name) }
	meta := `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	cs := []hostileCase{
		{name: "plain", body: []byte(rpc(11, `"tools/call"`, call(tool)))},
		{name: "escaped slash in the method", body: []byte(rpc(12, `"tools\/call"`, call(tool)))},
		{name: "unicode escape in the method", body: []byte(rpc(13, `"\u0074ools/call"`, call(tool)))},
		{name: "every letter escaped", body: []byte(rpc(14, `"`+escapeAll("tools/call")+`"`, `{"name":"`+escapeAll(tool)+`"}`))},
		{name: "a wrongly typed extra member", body: []byte(rpc(15, `"tools/call"`, fmt.Sprintf(`{"name":%q,"uri":1,"arguments":{}}`, tool)))},
		{name: "name then Name", body: []byte(rpc(16, `"tools/call"`, fmt.Sprintf(`{"name":%q,"Name":%q}`, tool, allowed)))},
		{name: "Name then name", body: []byte(rpc(17, `"tools/call"`, fmt.Sprintf(`{"Name":%q,"name":%q}`, tool, allowed)))},
		{name: "Name alone", body: []byte(rpc(18, `"tools/call"`, fmt.Sprintf(`{"NAME":%q}`, tool)))},
		{name: "method twice", body: []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":19,"method":"ping","method":"tools/call","params":%s}`, call(tool)))},
		{name: "Method spelled otherwise", body: []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":20,"method":"ping","Method":"tools/call","params":%s}`, call(tool)))},
		{name: "params twice", body: []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":21,"method":"tools/call","params":%s,"params":%s}`, call(allowed), call(tool)))},
		{name: "byte-order mark", body: append([]byte("\xef\xbb\xbf"), rpc(22, `"tools/call"`, call(tool))...)},
		{name: "trailing message", body: []byte(rpc(23, `"tools/call"`, call(allowed)) + rpc(24, `"tools/call"`, call(tool)))},
		{name: "lone surrogate", body: []byte(rpc(25, `"tools/call"`, `{"name":"`+tool+`\ud800"}`))},
		{name: "batch of an allowed and a refused call", body: []byte("[" + rpc(26, `"tools/call"`, call(allowed)) + "," + rpc(27, `"tools/call"`, call(tool)) + "]")},
		{name: "as a notification", body: []byte(fmt.Sprintf(`{"jsonrpc":"2.0","method":"tools/call","params":%s}`, call(tool)))},
		{name: "fractional id", body: []byte(fmt.Sprintf(`{"jsonrpc":"2.0","id":1.0,"method":"tools/call","params":%s}`, call(tool)))},
		{name: "UTF-16 body", header: map[string]string{"Content-Type": "application/json; charset=utf-16le"}, body: utf16le(rpc(28, `"tools/call"`, call(tool)))},
		{name: "gzip body", header: map[string]string{"Content-Encoding": "gzip"}, body: gzipped(rpc(29, `"tools/call"`, call(tool)))},
		{name: "text/plain body", header: map[string]string{"Content-Type": "text/plain"}, body: []byte(rpc(30, `"tools/call"`, call(tool)))},
		{name: "PUT", method: http.MethodPut, body: []byte(rpc(31, `"tools/call"`, call(tool)))},
		{name: "PATCH", method: http.MethodPatch, body: []byte(rpc(32, `"tools/call"`, call(tool)))},
		{name: "GET with a body", method: http.MethodGet, body: []byte(rpc(33, `"tools/call"`, call(tool)))},
		{name: "headers mirror an allowed call", header: map[string]string{"Mcp-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/call", "Mcp-Name": allowed},
			body: []byte(rpc(34, `"tools/call"`, fmt.Sprintf(`{"name":%q,%s}`, tool, meta)))},
		{name: "prompt, escaped", body: []byte(rpc(35, `"prompts\/get"`, fmt.Sprintf(`{"name":%q}`, prompt)))},
		{name: "prompt, Name variant", body: []byte(rpc(36, `"prompts/get"`, fmt.Sprintf(`{"name":"x","Name":%q}`, prompt)))},
		{name: "prompt completion", body: []byte(rpc(37, `"completion/complete"`, fmt.Sprintf(`{"ref":{"type":"ref/prompt","name":%q},"argument":{"name":"a","value":""}}`, prompt)))},
		{name: "resource, escaped", body: []byte(rpc(38, `"resources\/read"`, fmt.Sprintf(`{"uri":%q}`, res)))},
		{name: "resource subscribe", body: []byte(rpc(39, `"resources/subscribe"`, fmt.Sprintf(`{"uri":%q}`, res)))},
		{name: "resource, URI variant", body: []byte(rpc(40, `"resources/read"`, fmt.Sprintf(`{"uri":"x:y","URI":%q}`, res)))},
	}
	for i, s := range tg.resourceSpellings {
		cs = append(cs, hostileCase{name: "resource spelled " + s, body: []byte(rpc(50+i, `"resources/read"`, fmt.Sprintf(`{"uri":%q}`, s)))})
	}
	return cs
}

// corpusClient gives up on a request the gateway or backend holds.
var corpusClient = &http.Client{Timeout: 10 * time.Second}

// runCorpus sends the corpus with a read-only token over a session of
// its own, and checks that each request is refused and that the backend
// got none of them; then that the allowed call, and the protected one
// with a write token, do run: the corpus refuses what it must, not
// everything.
func runCorpus(t *testing.T, tg gatewayTarget) {
	mcpURL := tg.stack.Resource.URL()
	read := tg.stack.AccessToken(t, "read")
	session := openSession(t, mcpURL, read)
	// A request answered: everything sent before it has reached the backend.
	testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, read, session, strings.NewReader(rpc(2, `"ping"`, "{}"))))
	before := tg.forwarded()
	for _, c := range corpus(tg) {
		method := c.method
		if method == "" {
			method = http.MethodPost
		}
		req := testkit.MCPRequest(t, method, mcpURL, read, session, bytes.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		for k, v := range c.header {
			req.Header.Set(k, v)
		}
		resp, err := corpusClient.Do(req)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if !slices.Contains([]int{400, 403, 405, 415}, resp.StatusCode) {
			t.Errorf("%s: %d %s, want a refusal", c.name, resp.StatusCode, body)
		}
		if got := tg.forwarded(); got != before {
			t.Errorf("%s: the backend got the message (%d, was %d)", c.name, got, before)
			before = got
		}
	}
	if tg.ran != nil && tg.ran() != 0 {
		t.Errorf("the backend ran %d protected things for a read-only token", tg.ran())
	}
	// Hidden tools stay hidden from a read-only token, escaped or not.
	for _, method := range []string{`"tools/list"`, `"tools\/list"`} {
		resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, read, session, strings.NewReader(rpc(90, method, "{}"))))
		names := toolNames(t, resp)
		if slices.Contains(names, tg.tool) || !slices.Contains(names, tg.allowed) {
			t.Errorf("tools/list (%s) for a read-only token: %v", method, names)
		}
	}
	before = tg.forwarded()
	if resp := callTool(t, mcpURL, read, session, tg.allowed); resp.StatusCode != http.StatusOK || forwardedAfter(tg, before) != before+1 {
		t.Errorf("the allowed call: %d, forwarded %d → %d", resp.StatusCode, before, tg.forwarded())
	}
	write := tg.stack.AccessToken(t, "read write")
	ws := openSession(t, mcpURL, write)
	if resp := callTool(t, mcpURL, write, ws, tg.tool); resp.StatusCode != http.StatusOK {
		t.Errorf("the protected call with a write token: %d", resp.StatusCode)
	}
}

func callTool(t *testing.T, mcpURL, token, session, name string) *http.Response {
	args := "{}"
	if name == "get-sum" {
		args = `{"a":1,"b":2}`
	}
	return testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, token, session,
		strings.NewReader(rpc(91, `"tools/call"`, fmt.Sprintf(`{"name":%q,"arguments":%s}`, name, args)))))
}

// openSession initializes an MCP session and returns its id.
func openSession(t *testing.T, mcpURL, token string) string {
	t.Helper()
	init := rpc(1, `"initialize"`, `{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"corpus","version":"1"}}`)
	resp := testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, token, "", strings.NewReader(init)))
	io.Copy(io.Discard, resp.Body)
	id := resp.Header.Get("Mcp-Session-Id")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("initialize: %d", resp.StatusCode)
	}
	if id == "" {
		return "" // a stateless server
	}
	notify := `{"jsonrpc":"2.0","method":"notifications/initialized"}`
	testkit.Send(t, testkit.MCPRequest(t, http.MethodPost, mcpURL, token, id, strings.NewReader(notify)))
	return id
}

// toolNames reads a tools/list answer, JSON or an event stream.
func toolNames(t *testing.T, resp *http.Response) []string {
	t.Helper()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, body)
	}
	msg := body
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		for _, line := range strings.Split(string(body), "\n") {
			if data, ok := strings.CutPrefix(line, "data: "); ok && strings.Contains(data, `"tools"`) {
				msg = []byte(data)
			}
		}
	}
	var out struct {
		Result struct {
			Tools []struct {
				Name string `json:"name"`
			} `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(msg, &out); err != nil {
		t.Fatalf("tools/list answer %s: %v", body, err)
	}
	var names []string
	for _, tool := range out.Result.Tools {
		names = append(names, tool.Name)
	}
	return names
}

// A read-only token runs nothing write-protected through any spelling any
// of the backends would execute: the reference "everything" server
// (Node) over Streamable HTTP and over stdio, and a Go (mcp-go) server
// whose resources resolve like files. Each corpus request is refused,
// and the backend (watched through a recording proxy, a recording of the
// process's input, and the Go server's own count) never got it.
func TestGateway_HostileSpellingsRunNothing(t *testing.T) {
	dir := interopDir(t)
	t.Run("everything over HTTP", func(t *testing.T) {
		t.Parallel()
		backend, forwarded := recordingProxy(t, fmt.Sprintf("http://localhost:%d/mcp", startEverything(t, dir, "streamableHttp")))
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			c.Proxy = backend
			policyFor(c, "get-env", "simple-prompt", "demo://resource/static/document/**")
		}})
		runCorpus(t, everythingTarget(t, stack, forwarded))
	})
	t.Run("everything over stdio", func(t *testing.T) {
		t.Parallel()
		input := filepath.Join(t.TempDir(), "input")
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			// Every line the process reads is appended to input first.
			c.Command = []string{"sh", "-c", `tee -a "$0" | exec "$1" "$2" stdio`, input, node(dir), everythingScript(dir)}
			policyFor(c, "get-env", "simple-prompt", "demo://resource/static/document/**")
		}})
		runCorpus(t, everythingTarget(t, stack, func() int { return linesIn(input) }))
	})
	t.Run("TypeScript SDK server (WHATWG URLs)", func(t *testing.T) {
		t.Parallel()
		ranFile := filepath.Join(t.TempDir(), "ran")
		backend, forwarded := recordingProxy(t, startResourcesServer(t, dir, ranFile))
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			c.Proxy = backend
			policyFor(c, "admin*", "secret-prompt", "file:///secret/**", "http://127.0.0.1/**", "https://example.com/**",
				"file:///C:/secret/**", "file:///docs/my%20doc.md", "file:///docs/r%C3%A9sum%C3%A9.md", "http://[::1]/**")
		}})
		runCorpus(t, gatewayTarget{stack: stack, forwarded: forwarded, ran: func() int { return linesIn(ranFile) },
			tool: "admin/delete", allowed: "safe", prompt: "secret-prompt", resource: "file:///secret/x", resourceSpellings: whatwgSpellings})
	})
	t.Run("Go file-style server", func(t *testing.T) {
		t.Parallel()
		notes, ran := notesServer(t)
		backend, forwarded := recordingProxy(t, notes)
		stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true, MutateResource: func(c *resource.Config) {
			c.Proxy = backend
			policyFor(c, "delete_note", "secret_plan", "file:///private/**")
		}})
		runCorpus(t, gatewayTarget{stack: stack, forwarded: forwarded, ran: ran, tool: "delete_note", allowed: "list_notes",
			prompt: "secret_plan", resource: "file:///private/payroll.txt", resourceSpellings: payrollSpellings})
	})
}

// forwardedAfter is the backend's count once it has moved past before,
// or before after a few seconds: a recorder may count a message only
// after the backend answered it (tee writes to the process first).
func forwardedAfter(tg gatewayTarget, before int) int {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if n := tg.forwarded(); n != before {
			return n
		}
	}
	return tg.forwarded()
}

var linesMu sync.Mutex

// linesIn counts the lines in a file (0 when it does not exist yet).
func linesIn(name string) int {
	linesMu.Lock()
	defer linesMu.Unlock()
	b, _ := os.ReadFile(name)
	return bytes.Count(b, []byte("\n"))
}

// whatwgSpellings are URIs the TypeScript SDK's WHATWG reading takes for
// protected resources where an RFC 3986 reading might not.
var whatwgSpellings = []string{
	"file:///secret/x ", "file:///secret/a/b", "file:///C|/secret/x", "file:///docs/my%20doc.md", "file:///docs/r%C3%A9sum%C3%A9.md",
	"http://127.0.0.1/secret", "http://2130706433/secret", "http://0x7f.1/secret", "http://127.1/secret", "http://0177.0.0.1/secret",
	"http://127.0.0.1./secret", "http://127.0.0.1:080/secret", "http:/127.0.0.1/secret", "http:127.0.0.1/secret",
	"http:///127.0.0.1/secret", "https://example.com/secret", "https://ｅｘａｍｐｌｅ.com/secret", "https://EXAMPLE.com/secret",
	"https://exa\u00admple.com/secret", "https://example\u3002com/secret", "https://example.com:0443/secret",
	"https:example.com/secret", "http://[::1]/secret", "http://[0:0:0:0:0:0:0:1]/secret", "http://[0000::0001]/secret",
}

// startResourcesServer runs testdata/resources-server.mjs, a stateless
// server written with the TypeScript SDK, next to the interop packages.
func startResourcesServer(t *testing.T, dir, ranFile string) string {
	t.Helper()
	work := t.TempDir()
	src, err := os.ReadFile(filepath.Join("testdata", "resources-server.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(work, "resources-server.mjs")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(dir, "node_modules"), filepath.Join(work, "node_modules")); err != nil {
		t.Fatal(err)
	}
	port := testkit.FreePort(t)
	runNodeServer(t, dir, "resources server", port, nil, script, fmt.Sprint(port), ranFile)
	return fmt.Sprintf("http://127.0.0.1:%d/mcp", port)
}
