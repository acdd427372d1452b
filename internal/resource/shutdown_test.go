package resource_test

import (
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/authserver"
	"github.com/tmcp-dev/tmcp/internal/resource"
	"github.com/tmcp-dev/tmcp/internal/testkit"
)

// A built-in tool call in flight when the server is told to stop goes on
// at TaskManager: one that TaskManager answers within the grace (past the
// second after which streams end) gets its result; one that TaskManager
// holds past the grace gets 503, Retry-After and a JSON-RPC error saying
// the server is shutting down, never an empty 200.
func TestShutdown_BuiltInCallsFinishWithinTheGraceOrSaySo(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	resURL := "http://" + ln.Addr().String() + "/mcp"
	tm := testkit.Interpose(t) // TaskManager, as both servers reach it
	stack := testkit.StartStack(t, testkit.AuthOptions{UpstreamURL: tm.URL,
		Mutate: func(c *authserver.Config) { c.Resources[0].Resource = resURL }})
	tm.SetTarget(stack.Sandbox.URL())
	reached := make(chan struct{}, 2)
	quick, never := make(chan struct{}), make(chan struct{})
	defer close(never)
	var arrived atomic.Int32
	tm.Handle("/api/tasks", func(w http.ResponseWriter, r *http.Request) {
		wait := never
		if arrived.Add(1) == 1 {
			wait = quick
		}
		reached <- struct{}{}
		<-wait
		tm.Pass(w, r)
	})
	srv, err := resource.New(resource.Config{Listener: ln, Resource: resURL, AuthServerURL: stack.Auth.URL(),
		ClientID: testkit.ResourceClientID, ClientSecret: testkit.ResourceSecret, TaskManager: tm.URL,
		ScopesSupported: []string{"read", "write"}, DefaultScope: []string{"read"}, Transport: resource.TransportStreamable,
		Logger: testkit.Logger(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	ran := make(chan error, 1)
	go func() { ran <- srv.Run(ctx) }()
	c := testkit.Discover(t, stack.Auth.URL())
	c.Resource = resURL
	c.RegisterPublic()
	tok := token(t, c, "read")

	type answer struct {
		status     int
		retryAfter string
		body       string
	}
	call := func() chan answer {
		id := open(t, resURL, tok)
		out := make(chan answer, 1)
		req := testkit.MCPRequest(t, http.MethodPost, resURL, tok, id,
			strings.NewReader(`{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"list_tasks","arguments":{}}}`))
		go func() {
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				out <- answer{body: err.Error()}
				return
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			out <- answer{resp.StatusCode, resp.Header.Get("Retry-After"), string(b)}
		}()
		select {
		case <-reached:
		case a := <-out:
			t.Fatalf("a call that should wait at TaskManager: %d %s", a.status, a.body)
		}
		return out
	}
	answered, held := call(), call()
	stop()
	time.Sleep(1500 * time.Millisecond) // past the second after which streams end, within the grace
	close(quick)
	if a := <-answered; a.status != http.StatusOK || !strings.Contains(a.body, `"id":9,"result"`) {
		t.Errorf("a call TaskManager answered within the grace: %d %s", a.status, a.body)
	}
	if a := <-held; a.status != http.StatusServiceUnavailable || a.retryAfter == "" ||
		!strings.Contains(a.body, `"id":9,"error":{"code":-32000,"message":"the server is shutting down: the call was cut off before its answer; it may have run"}`) {
		t.Errorf("a call TaskManager held past the grace: %d (Retry-After %q) %q", a.status, a.retryAfter, a.body)
	}
	if err := <-ran; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
