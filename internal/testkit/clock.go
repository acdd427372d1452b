package testkit

import (
	"sync"
	"time"
)

// Clock is a settable clock for expiry tests.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock starts at the real time, so servers that keep their own clock
// (the sandbox) agree with it until Advance.
func NewClock() *Clock { return &Clock{now: time.Now()} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}
