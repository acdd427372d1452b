package resource

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tmcp-dev/tmcp/internal/httpx"
	"github.com/tmcp-dev/tmcp/internal/mcpmsg"
)

// callGrace is how long the calls in flight when the server is told to
// stop still have to be answered: a call already at TaskManager or at the
// team's server finishes, if it can, within it. It leaves the rest of
// httpx's ten seconds to stopping the stdio processes.
const callGrace = 4 * time.Second

// codeShuttingDown is the JSON-RPC error (implementation-defined server
// error range, JSON-RPC 2.0 §5.1) of a call the shutdown cut off or
// refused.
const codeShuttingDown = -32000

// stopping is the server's shutdown as its handlers see it.
type stopping struct {
	once  sync.Once
	begun chan struct{} // closed when shutdown begins

	mu    sync.Mutex
	calls map[*callInFlight]struct{} // the calls to cut off as the grace ends
	cut   bool                       // the grace has ended
}

// callInFlight is a call the shutdown may have to answer in its handler's
// place.
type callInFlight struct {
	w      *cutWriter
	ids    [][]byte
	batch  bool
	cancel context.CancelFunc
}

func newStopping() *stopping {
	return &stopping{begun: make(chan struct{}), calls: map[*callInFlight]struct{}{}}
}

func (st *stopping) begin() {
	st.once.Do(func() {
		close(st.begun)
		time.AfterFunc(callGrace, st.cutOff)
	})
}

// cutOff answers every call still in flight and cancels it. It holds mu
// throughout, so that a handler returning meanwhile (remove) waits until
// its answer is written: nothing writes to a ResponseWriter after its
// handler returned.
func (st *stopping) cutOff() {
	st.mu.Lock()
	defer st.mu.Unlock()
	st.cut = true
	for c := range st.calls {
		c.w.cutOff(c.ids, c.batch)
		c.cancel()
	}
	clear(st.calls)
}

// add registers c; false when the grace has ended already.
func (st *stopping) add(c *callInFlight) bool {
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cut {
		return false
	}
	st.calls[c] = struct{}{}
	return true
}

func (st *stopping) remove(c *callInFlight) {
	st.mu.Lock()
	defer st.mu.Unlock()
	delete(st.calls, c)
}

// finishCalls answers every call truthfully through a shutdown, never
// with an empty 200: a call that comes once shutdown has begun gets 503
// with Retry-After and a JSON-RPC error, and runs nowhere; a call in
// flight runs on for callGrace (past httpx's end of streams, which only a
// client that leaves still ends), then gets that error too: with 503
// when nothing of its answer was sent, as one more event when its answer
// is an event stream. A GET stream carries no call: it ends as shutdown
// begins.
func (s *Server) finishCalls(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			ctx, cancel := context.WithCancel(r.Context())
			defer cancel()
			go func() {
				select {
				case <-s.stopping.begun:
					cancel()
				case <-ctx.Done():
				}
			}()
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		body := bodyOf(r)
		ids := requestIDs(body)
		select {
		case <-s.stopping.begun:
			shutdownAnswer(w, ids, body != nil && body.Batch, "the server is shutting down: the call was not run; try again shortly")
			return
		default:
		}
		if len(ids) == 0 {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(context.WithoutCancel(r.Context()))
		defer cancel()
		stopLeaving := context.AfterFunc(r.Context(), func() {
			if !errors.Is(context.Cause(r.Context()), httpx.ErrShutdown) {
				cancel() // the client left
			}
		})
		defer stopLeaving()
		// A call is registered rather than watched by a goroutine of its
		// own: this runs for every call, the cut-off once.
		call := &callInFlight{w: &cutWriter{w: w, h: w.Header().Clone()}, ids: ids, batch: body.Batch, cancel: cancel}
		if !s.stopping.add(call) {
			call.w.cutOff(ids, body.Batch)
			return
		}
		defer s.stopping.remove(call)
		next.ServeHTTP(call.w, r.WithContext(ctx))
	})
}

// requestIDs are the ids of body's requests (the calls waiting for an
// answer).
func requestIDs(body *mcpmsg.Body) [][]byte {
	if body == nil {
		return nil
	}
	var ids [][]byte
	for _, m := range body.Messages {
		if m.Kind == mcpmsg.KindRequest {
			ids = append(ids, m.ID)
		}
	}
	return ids
}

func shutdownError(id []byte, msg string) []byte {
	return (&mcpmsg.Error{Code: codeShuttingDown, Message: msg, ID: id}).JSON()
}

// shutdownAnswer answers calls ids with 503, Retry-After and a JSON-RPC
// error each (a batch as a batch), of a stated length: the client has
// all of it even while a handler deaf to its context holds the request.
func shutdownAnswer(w http.ResponseWriter, ids [][]byte, batch bool, msg string) {
	answers := make([]string, max(1, len(ids)))
	answers[0] = string(shutdownError(nil, msg))
	for i, id := range ids {
		answers[i] = string(shutdownError(id, msg))
	}
	body := answers[0]
	if batch && len(ids) > 0 {
		body = "[" + strings.Join(answers, ",") + "]"
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Retry-After", retryAfter)
	w.WriteHeader(http.StatusServiceUnavailable)
	io.WriteString(w, body)
}

// cutWriter is a call's ResponseWriter that the shutdown can take from
// it: once cut off, what the handler still writes goes nowhere.
type cutWriter struct {
	mu          sync.Mutex
	w           http.ResponseWriter
	h           http.Header // the handler's, until it writes them
	wroteHeader bool
	stream      bool
	cut         bool
}

func (c *cutWriter) Header() http.Header { return c.h }

func (c *cutWriter) WriteHeader(status int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.writeHeaderLocked(status)
}

func (c *cutWriter) writeHeaderLocked(status int) {
	if c.wroteHeader || c.cut {
		return
	}
	c.wroteHeader = true
	real := c.w.Header()
	clear(real)
	for k, v := range c.h {
		real[k] = v
	}
	c.stream = strings.HasPrefix(c.h.Get("Content-Type"), "text/event-stream")
	c.w.WriteHeader(status)
}

func (c *cutWriter) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cut {
		return 0, httpx.ErrShutdown
	}
	c.writeHeaderLocked(http.StatusOK)
	return c.w.Write(p)
}

func (c *cutWriter) Flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if f, ok := c.w.(http.Flusher); ok && !c.cut {
		f.Flush()
	}
}

// cutOff answers the calls ids in the handler's place, as the grace ends.
func (c *cutWriter) cutOff(ids [][]byte, batch bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cut = true
	const msg = "the server is shutting down: the call was cut off before its answer; it may have run"
	switch {
	case !c.wroteHeader:
		c.wroteHeader = true
		shutdownAnswer(c.w, ids, batch, msg)
	case c.stream:
		for _, id := range ids {
			fmt.Fprintf(c.w, "event: message\ndata: %s\n\n", shutdownError(id, msg))
		}
		if f, ok := c.w.(http.Flusher); ok {
			f.Flush()
		}
	}
}
