package httpx

import (
	"fmt"
	"net/netip"
	"strconv"
	"sync/atomic"
	"testing"
	"time"
)

// floodAddr is the i-th of many distinct IPv6 addresses.
func floodAddr(i int) string {
	var a [16]byte
	a[0], a[1] = 0x20, 0x01
	a[12], a[13], a[14], a[15] = byte(i>>24), byte(i>>16), byte(i>>8), byte(i)
	return netip.AddrFrom16(a).String()
}

// A flood of 100,000 distinct addresses never resets the count of a
// client that keeps calling: the limiter drops the least recently seen
// buckets one at a time, not all of them, and stays within its bound.
func TestLimiter_FloodOfAddressesKeepsAnActiveClientLimited(t *testing.T) {
	l := NewLimiter(1, time.Hour, 1)
	const client = "203.0.113.7"
	if ok, _ := l.Allow(client); !ok {
		t.Fatal("the client's first request was refused")
	}
	for i := range 100_000 {
		l.Allow(floodAddr(i))
		if i%1000 == 999 {
			if ok, _ := l.Allow(client); ok {
				t.Fatalf("after %d other addresses the client's spent budget was handed back", i+1)
			}
			if blocked, wait := l.Blocked(client); !blocked || wait <= 0 {
				t.Fatalf("after %d other addresses the client is no longer blocked", i+1)
			}
		}
	}
	if n := len(l.buckets); n > maxKeys {
		t.Fatalf("%d buckets kept, bound %d", n, maxKeys)
	}
	// The flood's own oldest addresses went first, one by one.
	if _, kept := l.buckets[floodAddr(0)]; kept {
		t.Fatal("the oldest flooding address is still kept")
	}
	if _, kept := l.buckets[floodAddr(99_999)]; !kept {
		t.Fatal("the newest flooding address was dropped")
	}
}

// At the bound, the key seen least recently is the one dropped; a key
// used again (Allow or Blocked) moves to the front.
func TestLimiter_EvictsTheLeastRecentlySeenKey(t *testing.T) {
	l := NewLimiter(1, time.Hour, 1)
	l.max = 3
	for _, k := range []string{"a", "b", "c"} {
		l.Allow(k)
	}
	l.Blocked("a") // a is now the newest, b the oldest
	l.Allow("d")
	for k, want := range map[string]bool{"a": true, "b": false, "c": true, "d": true} {
		if _, kept := l.buckets[k]; kept != want {
			t.Errorf("%s kept = %v, want %v", k, kept, want)
		}
	}
	var order []string
	for b := l.newest; b != nil; b = b.older {
		order = append(order, b.key)
	}
	if fmt.Sprint(order) != "[d a c]" {
		t.Fatalf("recency order %v, want [d a c]", order)
	}
	if l.oldest.key != "c" || l.oldest.older != nil || l.newest.newer != nil {
		t.Fatal("the recency list's ends are wrong")
	}
}

// BenchmarkLimiter_Allow is the cost of one Allow: for a key already
// held, and for a new key each time once the limiter is full (each call
// evicts one).
func BenchmarkLimiter_Allow(b *testing.B) {
	b.Run("KnownKeys", func(b *testing.B) {
		l := NewLimiter(1_000_000, time.Minute, 0)
		keys := make([]string, 1024)
		for i := range keys {
			keys[i] = floodAddr(i)
		}
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			i := 0
			for pb.Next() {
				l.Allow(keys[i&1023])
				i++
			}
		})
	})
	b.Run("NewKeyEvictsOne", func(b *testing.B) {
		l := NewLimiter(60, time.Minute, 0)
		for i := range maxKeys {
			l.Allow(floodAddr(i))
		}
		var next atomic.Int64
		next.Store(maxKeys)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				l.Allow("k" + strconv.FormatInt(next.Add(1), 10))
			}
		})
	})
}
