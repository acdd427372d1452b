package forward

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// backend is a real HTTP server on loopback that counts the connections
// it accepts.
type backend struct {
	*httptest.Server
	conns atomic.Int32
}

func newBackend(t *testing.T, h http.HandlerFunc, tls bool, configure ...func(*http.Server)) *backend {
	t.Helper()
	b := &backend{}
	b.Server = httptest.NewUnstartedServer(h)
	b.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			b.conns.Add(1)
		}
	}
	for _, c := range configure {
		c(b.Config)
	}
	if tls {
		b.EnableHTTP2 = true // offered; the forwarder asks for HTTP/1.1
		b.StartTLS()
	} else {
		b.Start()
	}
	t.Cleanup(b.Close)
	return b
}

func newForwarder(t *testing.T, b *backend, path string, opts Options) *Forwarder {
	t.Helper()
	u, _ := url.Parse(b.URL + path)
	if b.TLS != nil {
		opts.TLS = b.Client().Transport.(*http.Transport).TLSClientConfig
	}
	f, err := New(u, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

func send(t *testing.T, f *Forwarder, req *Request) (*http.Response, string) {
	t.Helper()
	resp, err := f.Do(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

func post(body string) *Request {
	return &Request{Method: http.MethodPost, Header: http.Header{"Content-Type": {"application/json"}}, Body: []byte(body)}
}

func TestForward_SendsTheRequestToTheBackendsPath(t *testing.T) {
	var got struct {
		method, path, query, host, body, contentType string
	}
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got.method, got.path, got.query, got.host, got.body, got.contentType = r.Method, r.URL.Path, r.URL.RawQuery, r.Host, string(body), r.Header.Get("Content-Type")
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"ok":true}`)
	}, false)
	f := newForwarder(t, b, "/mcp", Options{})
	req := post(`{"jsonrpc":"2.0"}`)
	req.RawQuery = "a=1"
	resp, body := send(t, f, req)
	if resp.StatusCode != http.StatusOK || body != `{"ok":true}` || resp.ContentLength != int64(len(body)) {
		t.Fatalf("answer: %d %q (length %d)", resp.StatusCode, body, resp.ContentLength)
	}
	u, _ := url.Parse(b.URL)
	if got.method != "POST" || got.path != "/mcp" || got.query != "a=1" || got.host != u.Host || got.body != `{"jsonrpc":"2.0"}` || got.contentType != "application/json" {
		t.Fatalf("the backend got %+v", got)
	}
}

func TestForward_KeepsConnectionsAlive(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, false)
	f := newForwarder(t, b, "/", Options{})
	for range 20 {
		send(t, f, post("{}"))
	}
	if n := b.conns.Load(); n != 1 {
		t.Fatalf("20 requests in turn opened %d connections, want 1", n)
	}
}

func TestForward_HopByHopAndExcludedFieldsStayBehind(t *testing.T) {
	var seen http.Header
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		seen = r.Header.Clone()
		w.Header().Set("Connection", "X-Per-Hop-Answer")
		w.Header().Set("X-Per-Hop-Answer", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("X-Answer", "yes")
	}, false)
	f := newForwarder(t, b, "/", Options{})
	req := post("{}")
	req.Header.Set("Connection", "X-Per-Hop, keep-alive")
	req.Header.Set("X-Per-Hop", "1")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Authorization", "Bearer tmcp_at_secret")
	req.Header.Set("Expect", "100-continue")
	req.Header.Set("X-Kept", "1")
	req.Header.Set("X-User", "forged")
	req.Exclude = Excluding("Authorization", "X-User")
	req.Extra = http.Header{"X-User": {"alice\r\nX-Injected: 1"}}
	resp, _ := send(t, f, req)
	for _, name := range []string{"Connection", "X-Per-Hop", "Keep-Alive", "Authorization", "X-Injected", "Expect"} {
		if v := seen.Get(name); v != "" {
			t.Errorf("the backend got %s: %s", name, v)
		}
	}
	if seen.Get("X-Kept") != "1" || seen.Get("X-User") != "alice  X-Injected: 1" {
		t.Errorf("the backend got X-Kept %q, X-User %q", seen.Get("X-Kept"), seen.Get("X-User"))
	}
	if resp.Header.Get("Keep-Alive") != "" || resp.Header.Get("X-Per-Hop-Answer") != "" || resp.Header.Get("Connection") != "" || resp.Header.Get("X-Answer") != "yes" {
		t.Errorf("the answer's fields: %v", resp.Header)
	}
}

// sendEvent starts or goes on with an event stream: one event, sent now.
func sendEvent(w http.ResponseWriter, data string) {
	w.Header().Set("Content-Type", "text/event-stream")
	io.WriteString(w, "event: message\ndata: "+data+"\n\n")
	w.(http.Flusher).Flush()
}

func TestForward_StreamsAnAnswerAsItComes(t *testing.T) {
	release := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		sendEvent(w, "first")
		<-release
		io.WriteString(w, "event: message\ndata: second\n\n")
	}, false)
	f := newForwarder(t, b, "/", Options{HeaderTimeout: time.Second})
	resp, err := f.Do(context.Background(), post("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	for _, want := range []string{"event: message\n", "data: first\n", "\n"} {
		if line, err := br.ReadString('\n'); line != want {
			t.Fatalf("read %q (%v), want %q before the backend sent more", line, err, want)
		}
	}
	time.Sleep(1500 * time.Millisecond) // past the header timeout: a body may last
	close(release)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "event: message\ndata: second\n\n" {
		t.Fatalf("rest %q, %v", rest, err)
	}
}

func TestForward_AnIdleConnectionTheBackendClosedIsNotUsed(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, false,
		func(s *http.Server) { s.IdleTimeout = 50 * time.Millisecond }) // as Node and uvicorn do, after seconds
	f := newForwarder(t, b, "/", Options{})
	send(t, f, post("{}"))
	time.Sleep(300 * time.Millisecond)
	if _, body := send(t, f, post("{}")); body != "ok" {
		t.Fatalf("body %q", body)
	}
	if n := b.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: the closed one must be left for a new one", n)
	}
}

func TestForward_IdleConnectionsExpire(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, false)
	f := newForwarder(t, b, "/", Options{IdleTimeout: time.Minute})
	now := time.Now()
	f.now = func() time.Time { return now }
	send(t, f, post("{}"))
	now = now.Add(2 * time.Minute)
	send(t, f, post("{}"))
	if n := b.conns.Load(); n != 2 {
		t.Fatalf("%d connections, want 2: one idle past its timeout is closed", n)
	}
}

func TestForward_IdleConnectionsCloseWithNothingAsked(t *testing.T) {
	var closed atomic.Int32
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }, false,
		func(s *http.Server) {
			s.ConnState = func(_ net.Conn, st http.ConnState) {
				if st == http.StateClosed {
					closed.Add(1)
				}
			}
		})
	f := newForwarder(t, b, "/", Options{IdleTimeout: 100 * time.Millisecond})
	send(t, f, post("{}"))
	wantIdle(t, f, 1, "kept after its answer")
	deadline := time.Now().Add(3 * time.Second)
	for closed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if closed.Load() != 1 {
		t.Fatal("the idle connection is still open at the backend after its idle timeout")
	}
	wantIdle(t, f, 0, "swept after its idle timeout")
}

func TestForward_ThePoolIsBounded(t *testing.T) {
	start := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { <-start; io.WriteString(w, "ok") }, false)
	f := newForwarder(t, b, "/", Options{MaxIdle: 3})
	var wg sync.WaitGroup
	for range 10 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := f.Do(context.Background(), post("{}"))
			if err != nil {
				t.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}()
	}
	for b.conns.Load() < 10 {
		time.Sleep(10 * time.Millisecond)
	}
	close(start)
	wg.Wait()
	wantIdle(t, f, 3, "the limit, after 10 at once")
	f.Close()
	wantIdle(t, f, 0, "after Close")
	if _, err := f.Do(context.Background(), post("{}")); !errors.Is(err, errClosed) {
		t.Fatalf("after Close: %v", err)
	}
}

func TestForward_AnAnswerLeftUnreadClosesItsConnection(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, strings.Repeat("x", 100000)) }, false)
	f := newForwarder(t, b, "/", Options{})
	resp, err := f.Do(context.Background(), post("{}"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 10))
	resp.Body.Close()
	wantIdle(t, f, 0, "a connection with an answer half read cannot carry another")
}

func wantIdle(t *testing.T, f *Forwarder, want int, why string) {
	t.Helper()
	if n := f.Idle(); n != want {
		t.Fatalf("%d idle connections, want %d: %s", n, want, why)
	}
}

func TestForward_ClosingAStreamEarlyDoesNotWaitForItsEnd(t *testing.T) {
	end := make(chan struct{})
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		sendEvent(w, "first")
		select {
		case <-r.Context().Done():
		case <-end: // the session's end, at the test's end at the latest
		}
	}, false)
	t.Cleanup(func() { close(end) })
	f := newForwarder(t, b, "/", Options{})
	resp, err := f.Do(context.Background(), &Request{Method: http.MethodGet, Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Read(make([]byte, 8))
	closed := make(chan struct{})
	go func() { resp.Body.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waits for the rest of a stream")
	}
	wantIdle(t, f, 0, "a stream closed early spends its connection")
}

func TestForward_ASlowBackendTimesOut(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // so the server notices the client leave
		select {
		case <-time.After(5 * time.Second):
		case <-r.Context().Done():
		}
	}, false)
	f := newForwarder(t, b, "/", Options{HeaderTimeout: 200 * time.Millisecond})
	start := time.Now()
	_, err := f.Do(context.Background(), post("{}"))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err %v, want a timeout", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Fatalf("waited %s", waited)
	}
}

func TestForward_AnAnswerThatStallsTimesOut(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body)
		w.Header().Set("Content-Length", "100")
		io.WriteString(w, "{\"jsonrpc\":")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}, false)
	f := newForwarder(t, b, "/", Options{HeaderTimeout: 300 * time.Millisecond})
	resp, err := f.Do(context.Background(), post("{}"))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	start := time.Now()
	_, err = io.ReadAll(resp.Body)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || time.Since(start) > 3*time.Second {
		t.Fatalf("err %v after %s, want a timeout", err, time.Since(start))
	}
}

func TestForward_TheCallersContextEndsAStream(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}, false)
	f := newForwarder(t, b, "/", Options{HeaderTimeout: time.Second})
	ctx, cancel := context.WithCancel(context.Background())
	resp, err := f.Do(ctx, &Request{Method: http.MethodGet, Header: http.Header{}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { _, err := io.ReadAll(resp.Body); done <- err }()
	time.Sleep(100 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("the stream ended cleanly; want it cut off")
		}
	case <-time.After(3 * time.Second):
		t.Fatal("the read still waits after the context ended")
	}
	resp.Body.Close()
	wantIdle(t, f, 0, "a cut-off connection is spent")
}

func TestForward_AnEndedContextBeforeTheAnswer(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		io.ReadAll(r.Body) // so the server notices the client leave
		<-r.Context().Done()
	}, false)
	f := newForwarder(t, b, "/", Options{HeaderTimeout: 5 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if _, err := f.Do(ctx, post("{}")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err %v, want the context's", err)
	}
}

func TestForward_InterimAnswersAreSkipped(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Link", "</style.css>; rel=preload")
		w.WriteHeader(http.StatusEarlyHints)
		w.WriteHeader(http.StatusCreated)
		io.WriteString(w, "made")
	}, false)
	f := newForwarder(t, b, "/", Options{})
	if resp, body := send(t, f, post("{}")); resp.StatusCode != http.StatusCreated || body != "made" {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
}

func TestForward_OverTLS(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || r.Proto != "HTTP/1.1" {
			http.Error(w, "want HTTP/1.1 over TLS", http.StatusBadRequest)
			return
		}
		io.WriteString(w, "secure")
	}, true)
	f := newForwarder(t, b, "/mcp", Options{})
	for range 3 {
		if resp, body := send(t, f, post("{}")); resp.StatusCode != http.StatusOK || body != "secure" {
			t.Fatalf("%d %q", resp.StatusCode, body)
		}
	}
	if n := b.conns.Load(); n != 1 {
		t.Fatalf("%d connections, want 1", n)
	}
}

func TestForward_AClosedBackend(t *testing.T) {
	b := newBackend(t, func(w http.ResponseWriter, r *http.Request) {}, false)
	f := newForwarder(t, b, "/", Options{DialTimeout: time.Second})
	b.Close()
	if _, err := f.Do(context.Background(), post("{}")); err == nil {
		t.Fatal("a request to a closed backend succeeded")
	}
}

func TestNew_RefusesWhatIsNotAnHTTPURL(t *testing.T) {
	for _, raw := range []string{"ftp://example.com/", "http:///mcp", "/mcp"} {
		u, _ := url.Parse(raw)
		if _, err := New(u, Options{}); err == nil {
			t.Errorf("New(%q) succeeded", raw)
		}
	}
}
