package httpx

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"
)

// SummaryInterval is how long repeated warnings and errors are summed up
// for: an outage of storage or TaskManager fails every request alike, and
// one line per request would bury everything else in the log.
const SummaryInterval = 10 * time.Second

// maxSummaryKeys bounds the kinds of warning tracked at once; past it,
// records pass through unsummarised rather than grow the map.
const maxSummaryKeys = 256

// Summarize passes on every record below Warn, and of the warnings and
// errors with one level and message, the first in each interval; the
// rest are counted and then reported on one line, "N more like it in the
// last 10s", when the interval ends (or when the next one arrives after it).
func Summarize(h slog.Handler, every time.Duration) slog.Handler {
	return &summarizer{next: h, st: &summaryState{every: every, now: time.Now, after: afterFunc,
		windows: map[summaryKey]*window{}}}
}

func afterFunc(d time.Duration, f func()) { time.AfterFunc(d, f) }

type summarizer struct {
	next slog.Handler
	st   *summaryState // shared by the handlers WithAttrs and WithGroup make
}

type summaryKey struct {
	level slog.Level
	msg   string
}

type summaryState struct {
	every time.Duration
	now   func() time.Time
	after func(time.Duration, func())

	mu      sync.Mutex
	windows map[summaryKey]*window
}

// window is one interval of one kind of record: when it started, the
// handler its first record went to, and how many more were left out.
type window struct {
	start   time.Time
	next    slog.Handler
	dropped int
}

func (h *summarizer) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

func (h *summarizer) WithAttrs(attrs []slog.Attr) slog.Handler {
	return &summarizer{next: h.next.WithAttrs(attrs), st: h.st}
}

func (h *summarizer) WithGroup(name string) slog.Handler {
	return &summarizer{next: h.next.WithGroup(name), st: h.st}
}

func (h *summarizer) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.next.Handle(ctx, r)
	}
	st := h.st
	k := summaryKey{r.Level, r.Message}
	now := st.now()
	st.mu.Lock()
	w := st.windows[k]
	if w != nil && now.Sub(w.start) < st.every {
		w.dropped++
		if w.dropped == 1 {
			st.after(st.every-now.Sub(w.start), func() { st.flush(k, w) })
		}
		st.mu.Unlock()
		return nil
	}
	var ended *window
	if w != nil && w.dropped > 0 {
		ended = w
	}
	if w != nil || len(st.windows) < maxSummaryKeys || st.sweep(now) {
		st.windows[k] = &window{start: now, next: h.next}
	}
	st.mu.Unlock()
	if ended != nil {
		st.report(k, ended)
	}
	return h.next.Handle(ctx, r)
}

// sweep drops windows that have ended with nothing left out, and
// reports whether there is room for another; the caller holds mu.
func (st *summaryState) sweep(now time.Time) bool {
	for k, w := range st.windows {
		if w.dropped == 0 && now.Sub(w.start) >= st.every {
			delete(st.windows, k)
		}
	}
	return len(st.windows) < maxSummaryKeys
}

// flush ends window w of k, if it is still k's, and reports what it left out.
func (st *summaryState) flush(k summaryKey, w *window) {
	st.mu.Lock()
	if st.windows[k] != w {
		st.mu.Unlock()
		return
	}
	delete(st.windows, k)
	st.mu.Unlock()
	st.report(k, w)
}

func (st *summaryState) report(k summaryKey, w *window) {
	if w.dropped == 0 {
		return
	}
	r := slog.NewRecord(st.now(), k.level, fmt.Sprintf("%d more like it in the last %s: %s", w.dropped, st.every, k.msg), 0)
	_ = w.next.Handle(context.Background(), r)
}
