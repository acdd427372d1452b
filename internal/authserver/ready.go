package authserver

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"
)

// readyz answers 200 when this instance can serve what it is for: issuing,
// refreshing, revoking and checking tokens, all of which write to storage.
// Storage must take a write (a committed one-row probe, bounded by
// readyTimeout): a full disk, a read-only database or a write lock held
// elsewhere fail it, where a ping would pass. TaskManager is only a
// degraded note: without it sign-in fails and so do refreshes that must
// renew the user's TaskManager token, but introspection, revocation and
// the other refreshes work, so an instance is not pulled for it (every
// instance shares one TaskManager, and pulling them all serves nothing).
func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	st := s.ready.get(s.now(), func() readyState { return s.checkReady(r.Context()) })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	var b strings.Builder
	switch {
	case st.storage != "":
		w.Header().Set("Retry-After", retryAfter)
		w.WriteHeader(http.StatusServiceUnavailable)
		b.WriteString("not ready\nstorage: " + st.storage + "\n")
	case st.upstream != "":
		b.WriteString("ready, degraded\nstorage: takes writes\n")
	default:
		b.WriteString("ready\nstorage: takes writes\n")
	}
	if st.upstream != "" {
		b.WriteString(s.upstreamName() + ": " + st.upstream + "\n")
	} else {
		b.WriteString(s.upstreamName() + ": answers\n")
	}
	w.Write([]byte(b.String()))
}

// readyTimeout bounds each check of /readyz.
const readyTimeout = 2 * time.Second

// readyCacheTTL keeps a readiness answer for a while, so that /readyz,
// which anyone may call, cannot turn requests into storage writes.
const readyCacheTTL = time.Second

// readyState is what the checks found; "" is fine.
type readyState struct {
	storage, upstream string
}

// checkReady runs both checks at once, each within readyTimeout.
func (s *Server) checkReady(ctx context.Context) readyState {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
	defer cancel()
	var st readyState
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := s.upstream.Reachable(ctx); err != nil {
			s.log.WarnContext(ctx, "readiness: TaskManager unreachable", "err", err)
			st.upstream = "unreachable (degraded: sign-in, and refreshes that renew a TaskManager token, fail until it answers)"
		}
	}()
	if err := s.store.ProbeWrite(ctx, s.now()); err != nil {
		s.log.WarnContext(ctx, "readiness: storage takes no writes", "err", err)
		st.storage = "takes no writes"
		if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
			st.storage += " within " + readyTimeout.String() + " (locked, frozen or unreachable)"
		} else {
			st.storage += " (full, read-only or down)"
		}
	}
	wg.Wait()
	return st
}

// readiness keeps the last readiness answer for readyCacheTTL; callers
// that come while a check runs wait for it rather than start another.
type readiness struct {
	mu      sync.Mutex
	checked time.Time
	state   readyState
}

func (rd *readiness) get(now time.Time, check func() readyState) readyState {
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if !rd.checked.IsZero() && now.Sub(rd.checked) >= 0 && now.Sub(rd.checked) < readyCacheTTL {
		return rd.state
	}
	rd.state, rd.checked = check(), now
	return rd.state
}
