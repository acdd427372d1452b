package httpx

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tmcp-dev/tmcp/internal/testkit/selfsigned"
)

// Shutdown with a stream open (an SSE client that never hangs up) ends the
// stream after the grace and returns cleanly, rather than waiting out the
// shutdown timeout and failing.
func TestServe_ShutdownEndsOpenStreams(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	streaming := make(chan struct{})
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		w.WriteHeader(http.StatusOK)
		w.(http.Flusher).Flush()
		close(streaming)
		<-r.Context().Done() // as mcp-go's stream handlers do
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, NewServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{WriteTimeout: -1}), ln, "", "")
	}()
	resp, err := http.Get("http://" + ln.Addr().String() + "/stream")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	<-streaming
	start := time.Now()
	stop()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("shutdown with an open stream: %v", err)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Fatalf("shutdown took %s", took)
		}
	case <-time.After(9 * time.Second):
		t.Fatal("shutdown waited for the stream")
	}
}

// A handler that ignores its context holds the shutdown until it runs
// out; the error then names what was still running. (Not parallel: it
// shortens the package's shutdown timeout.)
func TestServe_ShutdownThatRunsOutNamesTheRequests(t *testing.T) {
	defer func(grace, timeout time.Duration) { streamGrace, shutdownTimeout = grace, timeout }(streamGrace, shutdownTimeout)
	streamGrace, shutdownTimeout = 50*time.Millisecond, 300*time.Millisecond
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	release, stuck := make(chan struct{}), make(chan struct{})
	defer close(release)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stuck" {
			close(stuck)
			<-release // deaf to its context, like a write to a pipe nobody reads
		}
	})
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- Serve(ctx, NewServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{WriteTimeout: -1}), ln, "", "")
	}()
	go http.Post("http://"+ln.Addr().String()+"/stuck", "text/plain", nil) //nolint:errcheck // cut off by the shutdown
	<-stuck
	if resp, err := http.Get("http://" + ln.Addr().String() + "/quick"); err == nil {
		resp.Body.Close()
	}
	stop()
	err = <-done
	if err == nil || !strings.Contains(err.Error(), "context deadline exceeded (still running: POST /stuck (") {
		t.Fatalf("shutdown = %v, want it to name POST /stuck", err)
	}
	if strings.Contains(err.Error(), "/quick") {
		t.Fatalf("shutdown names a request that had ended: %v", err)
	}
}

// Under TLS every answer carries HSTS (RFC 6797); in plain HTTP it cannot
// mean anything and is not sent.
func TestServe_HSTSUnderTLS(t *testing.T) {
	certFile, keyFile, pool, err := selfsigned.Write(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, withTLS := range []bool{true, false} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ctx, stop := context.WithCancel(context.Background())
		c, k, scheme := "", "", "http"
		if withTLS {
			c, k, scheme = certFile, keyFile, "https"
		}
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok")) })
		go Serve(ctx, NewServer(h, slog.New(slog.NewTextHandler(io.Discard, nil)), Options{}), ln, c, k) //nolint:errcheck // stopped below
		client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		resp, err := client.Get(scheme + "://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		got := resp.Header.Get("Strict-Transport-Security")
		if withTLS && got != "max-age=31536000" || !withTLS && got != "" {
			t.Errorf("TLS %v: Strict-Transport-Security %q", withTLS, got)
		}
		stop()
	}
}

// A renewed certificate is served from the next handshake on, without a
// restart; files that do not load keep the previous one in service.
func TestServe_TLSCertificateReloadsWithoutRestart(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile, _, err := selfsigned.Write(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	srv := NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}), slog.New(slog.DiscardHandler), Options{})
	go func() { done <- Serve(ctx, srv, ln, certFile, keyFile) }()
	defer func() { cancel(); <-done }()
	served := func() []byte {
		t.Helper()
		conn, err := tls.Dial("tcp", ln.Addr().String(), &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Raw
	}
	first := served()
	// Renewal: another certificate and key written over the files.
	other := t.TempDir()
	newCert, newKey, _, err := selfsigned.Write(other)
	if err != nil {
		t.Fatal(err)
	}
	replace := func(src, dst string, at time.Time) {
		b, err := os.ReadFile(src)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(dst, at, at); err != nil { // a renewal within the file system's time resolution
			t.Fatal(err)
		}
	}
	later := time.Now().Add(time.Hour)
	replace(newCert, certFile, later)
	replace(newKey, keyFile, later)
	renewed := served()
	if bytes.Equal(first, renewed) {
		t.Fatal("the renewed certificate is not served")
	}
	// A half-written renewal: the old pair stays.
	if err := os.WriteFile(certFile, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got := served(); !bytes.Equal(got, renewed) {
		t.Fatal("a certificate file that does not load replaced the one in service")
	}
}

// Every line logged while serving a traced request carries its trace id,
// so logs and traces of one request are found together.
func TestLog_TraceIDOnEveryLineOfATracedRequest(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(ContextHandler{Handler: slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})})
	h := Log(log, nil, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		log.InfoContext(r.Context(), "handler line")
	}))
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	req := httptest.NewRequest(http.MethodGet, "/x", nil)
	req.Header.Set("traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
	h.ServeHTTP(httptest.NewRecorder(), req)
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("want the handler's line and the request line, got:\n%s", buf.String())
	}
	for _, line := range lines {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("not a JSON line: %s", line)
		}
		if rec["trace_id"] != traceID {
			t.Errorf("line without the trace id: %s", line)
		}
	}
}
