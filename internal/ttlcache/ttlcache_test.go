package ttlcache

import (
	"errors"
	"strconv"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

func TestCache_EntriesExpireAtTheirOwnTime(t *testing.T) {
	c := New[string](10)
	c.Put("a", "1", t0.Add(time.Second), t0)
	c.Put("b", "2", t0.Add(time.Minute), t0)
	if v, ok := c.Get("a", t0.Add(999*time.Millisecond)); !ok || v != "1" {
		t.Fatalf("fresh entry: %q %v", v, ok)
	}
	if _, ok := c.Get("a", t0.Add(time.Second)); ok {
		t.Fatal("an entry was served at its expiry")
	}
	if v, ok := c.Get("b", t0.Add(59*time.Second)); !ok || v != "2" {
		t.Fatalf("longer entry: %q %v", v, ok)
	}
	c.Delete("b")
	if _, ok := c.Get("b", t0); ok {
		t.Fatal("a deleted entry was served")
	}
}

func TestCache_NothingAlreadyExpiredOrWithoutRoom(t *testing.T) {
	c := New[int](10)
	c.Put("past", 1, t0, t0)
	if c.Len() != 0 {
		t.Fatal("an entry that expires now was kept")
	}
	off := New[int](0)
	off.Put("k", 1, t0.Add(time.Hour), t0)
	if off.Len() != 0 {
		t.Fatal("a cache of size 0 kept an entry")
	}
}

// Memory stays bounded however many keys arrive: expired entries go
// first, then an arbitrary tenth.
func TestCache_BoundedUnderAFlood(t *testing.T) {
	c := New[int](1000)
	for i := range 100_000 {
		c.Put(strconv.Itoa(i), i, t0.Add(time.Hour), t0)
		if c.Len() > 1000 {
			t.Fatalf("%d entries after %d puts; the bound is 1000", c.Len(), i+1)
		}
	}
	// Once everything expired, the next put makes room from the expired.
	c.Put("late", 1, t0.Add(3*time.Hour), t0.Add(2*time.Hour))
	if c.Len() != 1 {
		t.Fatalf("%d entries after all expired; want only the new one", c.Len())
	}
}

// A replay check: Add takes a key once while it lives, and a full cache
// refuses rather than forgetting a live key.
func TestCache_AddTakesAKeyOnceAndNeverEvicts(t *testing.T) {
	c := New[struct{}](2)
	if ok, err := c.Add("a", struct{}{}, t0.Add(time.Minute), t0); !ok || err != nil {
		t.Fatalf("first Add = %v, %v", ok, err)
	}
	if ok, err := c.Add("a", struct{}{}, t0.Add(time.Minute), t0.Add(time.Second)); ok || err != nil {
		t.Fatalf("second Add of a live key = %v, %v", ok, err)
	}
	c.Add("b", struct{}{}, t0.Add(time.Minute), t0)
	if ok, err := c.Add("c", struct{}{}, t0.Add(time.Minute), t0); ok || !errors.Is(err, ErrFull) {
		t.Fatalf("Add to a full cache = %v, %v", ok, err)
	}
	if ok, _ := c.Add("a", struct{}{}, t0.Add(2*time.Minute), t0.Add(30*time.Second)); ok {
		t.Fatal("a full cache forgot a live key")
	}
	if ok, err := c.Add("c", struct{}{}, t0.Add(2*time.Minute), t0.Add(time.Minute)); !ok || err != nil {
		t.Fatalf("Add once the others expired = %v, %v", ok, err)
	}
	if ok, _ := c.Add("a", struct{}{}, t0.Add(2*time.Minute), t0.Add(time.Minute)); !ok {
		t.Fatal("an expired key could not be added again")
	}
}
