package telemetry_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/client"
	"github.com/mark3labs/mcp-go/client/transport"
	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/telemetry"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// span is what the receiver keeps of an exported span.
type span struct {
	name, trace, id, parent string
	attrs                   map[string]string
}

// receiver is an OTLP/HTTP trace receiver: it decodes the protobuf
// ExportTraceServiceRequest the real exporter sends to /v1/traces.
type receiver struct {
	mu    sync.Mutex
	spans []span
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	var req coltracepb.ExportTraceServiceRequest
	if err != nil || r.URL.Path != "/v1/traces" || proto.Unmarshal(body, &req) != nil {
		http.Error(w, "bad export", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	for _, rs := range req.ResourceSpans {
		for _, ss := range rs.ScopeSpans {
			for _, s := range ss.Spans {
				sp := span{name: s.Name, trace: hex.EncodeToString(s.TraceId), id: hex.EncodeToString(s.SpanId),
					parent: hex.EncodeToString(s.ParentSpanId), attrs: map[string]string{}}
				for _, kv := range s.Attributes {
					sp.attrs[kv.Key] = kv.Value.GetStringValue()
				}
				rc.spans = append(rc.spans, sp)
			}
		}
	}
	rc.mu.Unlock()
	out, _ := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
	w.Header().Set("Content-Type", "application/x-protobuf")
	w.Write(out)
}

// addHeader sends traceparent on the requests match picks.
type addHeader struct {
	base  http.RoundTripper
	tp    string
	match func(*http.Request) bool
}

func (a addHeader) RoundTrip(r *http.Request) (*http.Response, error) {
	if a.match(r) {
		r = r.Clone(r.Context())
		r.Header.Set("traceparent", a.tp)
	}
	return a.base.RoundTrip(r)
}

// One sign-in and one tool call through the gateway are one trace: the
// client's traceparent reaches the authorize request, a cookie carries it
// through the browser's hops to the callback, whose code exchange at
// TaskManager carries it on; the token request, the MCP request, its
// introspection and the backend call are all in it, and the backend gets
// a traceparent of that trace. No span attribute holds a token, code or
// email.
func TestTrace_SignInAndGatewayCallAreOneTrace(t *testing.T) {
	rc := &receiver{}
	collector := httptest.NewServer(rc)
	defer collector.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", collector.URL)
	t.Setenv("OTEL_TRACES_EXPORTER", "")
	t.Setenv("OTEL_SDK_DISABLED", "")
	shutdown, err := telemetry.Setup(context.Background(), "test", slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}

	var backendTraceparent sync.Map
	m := server.NewMCPServer("notes", "1.0.0")
	m.AddTool(mcp.NewTool("hello"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText("hello"), nil
	})
	mcpHandler := server.NewStreamableHTTPServer(m)
	var metaTraceparent sync.Map // the request bodies' _meta traceparents
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		backendTraceparent.Store(r.Header.Get("traceparent"), true)
		body, _ := io.ReadAll(r.Body)
		var msg struct {
			Params struct {
				Meta map[string]any `json:"_meta"`
			} `json:"params"`
		}
		if json.Unmarshal(body, &msg) == nil {
			if tp, ok := msg.Params.Meta["traceparent"].(string); ok {
				metaTraceparent.Store(tp, true)
			}
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		mcpHandler.ServeHTTP(w, r)
	}))
	defer backend.Close()
	stack := testkit.StartStack(t, testkit.AuthOptions{Resource: true,
		MutateResource: func(c *resource.Config) { c.Proxy = backend.URL + "/mcp" }})

	ctx, root := telemetry.Tracer().Start(context.Background(), "mcp client")
	tp := telemetry.Traceparent(ctx)
	traceID := root.SpanContext().TraceID().String()

	c := testkit.Discover(t, stack.Auth.URL())
	c.Resource = stack.Resource.URL()
	c.RegisterPublic()
	authz := c.AuthorizeURL(nil)
	b := testkit.NewBrowser(t, c.RedirectURI)
	// Only the first request carries it, as when an instrumented client
	// opens the page: the browser sends none after that.
	b.Client.Transport = addHeader{base: http.DefaultTransport, tp: tp,
		match: func(r *http.Request) bool { return r.URL.String() == authz.URL }}
	back := testkit.SignIn(t, b, authz.URL)
	code := back.Query().Get("code")

	form := url.Values{"grant_type": {"authorization_code"}, "code": {code}, "code_verifier": {authz.Verifier},
		"redirect_uri": {c.RedirectURI}, "resource": {c.Resource}, "client_id": {c.ClientID}}
	req, _ := http.NewRequest(http.MethodPost, c.Meta.TokenEndpoint, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("traceparent", tp)
	status, tok := testkit.Do(t, req)
	access, _ := tok["access_token"].(string)
	if status != http.StatusOK || access == "" {
		t.Fatalf("token: %d %v", status, tok)
	}

	mc, err := client.NewStreamableHttpClient(stack.Resource.URL(),
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + access, "traceparent": tp}))
	if err != nil {
		t.Fatal(err)
	}
	callCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := mc.Start(callCtx); err != nil {
		t.Fatal(err)
	}
	defer mc.Close()
	init := mcp.InitializeRequest{}
	init.Params.ProtocolVersion = "2025-06-18"
	if _, err := mc.Initialize(callCtx, init); err != nil {
		t.Fatal(err)
	}
	call := mcp.CallToolRequest{}
	call.Params.Name = "hello"
	if _, err := mc.CallTool(callCtx, call); err != nil {
		t.Fatal(err)
	}
	// A 2026-07-28 client: the backend gets the trace in _meta too.
	modern, err := client.NewStreamableHttpClient(stack.Resource.URL(),
		transport.WithHTTPHeaders(map[string]string{"Authorization": "Bearer " + access, "traceparent": tp}))
	if err != nil {
		t.Fatal(err)
	}
	if err := modern.Start(callCtx); err != nil {
		t.Fatal(err)
	}
	defer modern.Close()
	if _, err := modern.Initialize(callCtx, mcp.InitializeRequest{}); err != nil {
		t.Fatal(err)
	}
	if v := modern.ProtocolVersion(); v != "2026-07-28" {
		t.Fatalf("the modern client speaks %s", v)
	}
	if _, err := modern.CallTool(callCtx, call); err != nil {
		t.Fatal(err)
	}
	root.End()
	if err := shutdown(context.Background()); err != nil { // flushes every span
		t.Fatal(err)
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	inTrace := map[string]span{}
	for _, s := range rc.spans {
		for _, v := range s.attrs {
			for _, secret := range []string{access, code, testkit.DemoEmail, authz.Verifier} {
				if strings.Contains(v, secret) {
					t.Errorf("span %q has an attribute holding a secret or email: %s", s.name, v)
				}
			}
		}
		if s.trace == traceID {
			inTrace[s.name+" "+s.attrs["mcp.method.name"]] = s
		}
	}
	upstream, _ := url.Parse(stack.Sandbox.URL())
	gateway, _ := url.Parse(backend.URL)
	for _, want := range []string{
		"GET /oauth/authorize",
		"GET /oauth/callback",
		"POST " + upstream.Host, // the code exchange at TaskManager
		"POST /api/oauth/token", // TaskManager's side of it
		"POST /oauth/token",     // the MCP client's token request
		"POST /introspect",      // the MCP server checking the token
		"POST " + gateway.Host,  // the backend call
		"POST /mcp",             // the MCP requests
	} {
		found := false
		for name := range inTrace {
			if strings.HasPrefix(name, want+" ") {
				found = true
			}
		}
		if !found {
			t.Errorf("no span %q in the trace; it has:", want)
			for name := range inTrace {
				t.Logf("  %s", name)
			}
		}
	}
	if g := inTrace["POST /oauth/token "].attrs["oauth.grant_type"]; g != "authorization_code" {
		t.Errorf("the token request's span says grant %q", g)
	}
	if _, ok := inTrace["POST /mcp tools/call"]; !ok {
		t.Error("no MCP request span names tools/call")
	}
	got := false
	backendTraceparent.Range(func(k, _ any) bool {
		got = got || strings.Contains(k.(string), traceID)
		return true
	})
	if !got {
		t.Errorf("the backend got no traceparent of trace %s", traceID)
	}
	inMeta := false
	metaTraceparent.Range(func(k, _ any) bool {
		inMeta = inMeta || strings.Contains(k.(string), traceID)
		return true
	})
	if !inMeta {
		t.Errorf("no 2026-07-28 request reached the backend with trace %s in _meta", traceID)
	}
}
