// Package ttlcache is the one small cache tmcp keeps answers in: a bounded
// map whose entries expire, with the caller's clock. Everything that grows
// with clients is bounded by it.
package ttlcache

import (
	"errors"
	"sync"
	"time"
)

// Cache holds at most max entries, each until its own expiry.
type Cache[V any] struct {
	mu        sync.Mutex
	max       int
	entries   map[string]cacheEntry[V]
	lastSweep time.Time
}

// sweepEvery is how often a Put also drops every expired entry, so that
// expired answers do not sit in memory until the cache fills.
const sweepEvery = time.Minute

type cacheEntry[V any] struct {
	value   V
	expires time.Time
}

// New makes a cache of at most max entries; max 0 caches nothing.
func New[V any](max int) *Cache[V] {
	return &Cache[V]{max: max, entries: map[string]cacheEntry[V]{}}
}

// Get returns the entry for key while it has not expired at now.
func (c *Cache[V]) Get(key string, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[key]
	if !ok || !now.Before(e.expires) {
		delete(c.entries, key)
		var zero V
		return zero, false
	}
	return e.value, true
}

// Put keeps v until expires (nothing when that is not after now).
func (c *Cache[V]) Put(key string, v V, expires, now time.Time) {
	if c.max <= 0 || !now.Before(expires) {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entries) >= c.max || now.Sub(c.lastSweep) >= sweepEvery {
		c.sweep(now)
	}
	if len(c.entries) >= c.max {
		c.makeRoom()
	}
	c.entries[key] = cacheEntry[V]{value: v, expires: expires}
}

// Delete drops key.
func (c *Cache[V]) Delete(key string) {
	c.mu.Lock()
	delete(c.entries, key)
	c.mu.Unlock()
}

// Len is the number of entries held, expired ones included until evicted.
func (c *Cache[V]) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

// sweep drops every expired entry.
func (c *Cache[V]) sweep(now time.Time) {
	c.lastSweep = now
	for k, e := range c.entries {
		if !now.Before(e.expires) {
			delete(c.entries, k)
		}
	}
}

// makeRoom drops an arbitrary tenth of a full cache of live entries:
// bounded memory matters more than hit rate here.
func (c *Cache[V]) makeRoom() {
	for k := range c.entries {
		if len(c.entries) < c.max-c.max/10 {
			break
		}
		delete(c.entries, k)
	}
}

// ErrFull means Add found the cache full of live entries.
var ErrFull = errors.New("the cache is full")

// Add keeps v under key unless a live entry holds key already, and
// reports whether it did. Unlike Put it never evicts a live entry: a
// cache that remembers what was seen (a replay check) must not forget
// early, so a cache full of live entries adds nothing and says ErrFull.
func (c *Cache[V]) Add(key string, v V, expires, now time.Time) (bool, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[key]; ok && now.Before(e.expires) {
		return false, nil
	}
	if len(c.entries) >= c.max || now.Sub(c.lastSweep) >= sweepEvery {
		c.sweep(now)
	}
	if len(c.entries) >= c.max {
		return false, ErrFull
	}
	c.entries[key] = cacheEntry[V]{value: v, expires: expires}
	return true, nil
}
