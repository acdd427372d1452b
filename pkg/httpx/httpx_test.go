package httpx

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
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
