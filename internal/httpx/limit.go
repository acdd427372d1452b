package httpx

import (
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter hands out a token bucket per key (a client IP or a client id).
// A nil *Limiter allows everything.
//
// It holds at most maxKeys buckets. When a new key needs room, the bucket
// seen least recently goes, one key at a time: a flood of new addresses
// pushes out only the longest-idle buckets, never every client's count at
// once, so a client that keeps calling keeps its state. Each call costs a
// map lookup and a move in the recency list, under one lock.
type Limiter struct {
	mu      sync.Mutex
	rate    rate.Limit
	burst   int
	max     int
	buckets map[string]*bucket
	// recent links the buckets from the most recently seen (newest) to
	// the least (oldest), the next to go.
	newest, oldest *bucket
}

type bucket struct {
	key          string
	lim          *rate.Limiter
	newer, older *bucket
}

// maxKeys bounds the memory a flood of distinct keys can take.
const maxKeys = 50000

// NewLimiter allows events per period for each key, in bursts of up to
// burst (default a sixth of events). events <= 0 means no limit (nil).
func NewLimiter(events int, per time.Duration, burst int) *Limiter {
	if events <= 0 || per <= 0 {
		return nil
	}
	if burst <= 0 {
		burst = max(1, events/6)
	}
	return &Limiter{rate: rate.Limit(float64(events) / per.Seconds()), burst: burst, max: maxKeys, buckets: map[string]*bucket{}}
}

// Blocked reports, without taking a token, whether key has none left.
func (l *Limiter) Blocked(key string) (bool, time.Duration) {
	if l == nil {
		return false, 0
	}
	l.mu.Lock()
	b, ok := l.buckets[key]
	if ok {
		l.touch(b)
	}
	l.mu.Unlock()
	if !ok {
		return false, 0
	}
	now := time.Now()
	if b.lim.TokensAt(now) >= 1 {
		return false, 0
	}
	r := b.lim.ReserveN(now, 1)
	d := r.DelayFrom(now)
	r.CancelAt(now)
	return true, d
}

// Allow takes one token for key; when none is left it reports how long
// until one is.
func (l *Limiter) Allow(key string) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	now := time.Now()
	l.mu.Lock()
	b, ok := l.buckets[key]
	if ok {
		l.touch(b)
	} else {
		if len(l.buckets) >= l.max {
			l.evictOldest()
		}
		b = &bucket{key: key, lim: rate.NewLimiter(l.rate, l.burst)}
		l.buckets[key] = b
		l.pushNewest(b)
	}
	l.mu.Unlock()
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// touch makes b the most recently seen bucket.
func (l *Limiter) touch(b *bucket) {
	if l.newest == b {
		return
	}
	l.unlink(b)
	l.pushNewest(b)
}

func (l *Limiter) pushNewest(b *bucket) {
	b.older, b.newer = l.newest, nil
	if l.newest != nil {
		l.newest.newer = b
	}
	l.newest = b
	if l.oldest == nil {
		l.oldest = b
	}
}

func (l *Limiter) unlink(b *bucket) {
	if b.newer != nil {
		b.newer.older = b.older
	} else {
		l.newest = b.older
	}
	if b.older != nil {
		b.older.newer = b.newer
	} else {
		l.oldest = b.newer
	}
	b.newer, b.older = nil, nil
}

// evictOldest drops the bucket seen least recently.
func (l *Limiter) evictOldest() {
	if b := l.oldest; b != nil {
		l.unlink(b)
		delete(l.buckets, b.key)
	}
}

// RetryAfter formats a delay for the Retry-After header (whole seconds,
// at least 1).
func RetryAfter(d time.Duration) string {
	return strconv.Itoa(int(math.Max(1, math.Ceil(d.Seconds()))))
}

// ClientIP is the address the request came from. Forwarded headers are
// not trusted: behind a proxy, every request shares the proxy's address.
func ClientIP(r *http.Request) string { return ClientAddr(r, nil) }

// ClientAddr is the address of the client that sent r: the peer's, or,
// when the peer is one of the trusted proxies, the nearest address in
// X-Forwarded-For that is not a trusted proxy. Behind an untrusted peer
// the header is ignored: anyone can write it.
func ClientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	if len(trusted) == 0 || !isTrusted(host) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		hop := strings.TrimSpace(hops[i])
		if _, err := netip.ParseAddr(hop); err != nil {
			return host // a malformed chain: trust only what we saw
		}
		if !isTrusted(hop) {
			return hop
		}
	}
	return host
}
