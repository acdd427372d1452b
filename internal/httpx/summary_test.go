package httpx

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

// An outage fails every request alike: of one kind of warning or error,
// the first in each interval is logged and the rest are counted on one
// line when the interval ends; other kinds, and anything below Warn, pass
// as they come.
func TestSummarize_RepeatedErrorsOneLineAnInterval(t *testing.T) {
	var buf bytes.Buffer
	now := time.Unix(1_800_000_000, 0)
	var pending []func()
	h := Summarize(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}), 10*time.Second).(*summarizer)
	h.st.now = func() time.Time { return now }
	h.st.after = func(_ time.Duration, f func()) { pending = append(pending, f) }
	log := slog.New(h).With("server", "auth")
	ctx := context.Background()

	for i := range 785 {
		log.ErrorContext(ctx, "storage failed", "err", "connection refused")
		log.InfoContext(ctx, "request", "n", i)
		if i == 3 {
			log.WarnContext(ctx, "TaskManager failed")
		}
		now = now.Add(10 * time.Millisecond) // 7.85 s in all: one interval
	}
	lines := func(substr string) int { return strings.Count(buf.String(), substr) }
	if n := lines("msg=\"storage failed\""); n != 1 {
		t.Fatalf("%d lines of the repeated error within one interval, want 1", n)
	}
	if n := lines("msg=request"); n != 785 {
		t.Fatalf("%d info lines, want every one (785)", n)
	}
	if n := lines("TaskManager failed"); n != 1 {
		t.Fatalf("another kind of warning: %d lines, want 1", n)
	}
	if len(pending) != 1 {
		t.Fatalf("%d summaries scheduled, want 1", len(pending))
	}
	now = now.Add(3 * time.Second)
	pending[0]()
	if !strings.Contains(buf.String(), `msg="784 more like it in the last 10s: storage failed"`) || lines("level=ERROR") != 2 ||
		!strings.Contains(buf.String(), "server=auth") {
		t.Fatalf("summary line missing or wrong:\n%s", tail(buf.String()))
	}
	// The next one after the interval is logged again, in full.
	log.ErrorContext(ctx, "storage failed", "err", "connection refused")
	if n := lines("msg=\"storage failed\""); n != 2 {
		t.Fatalf("the first error of the next interval: %d lines in all, want 2", n)
	}
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}
