package idp

import (
	"sync"
	"time"
)

// Clock is the sandbox's sense of time. Every expiry the providers enforce
// (access tokens, refresh-token inactivity, authorization codes, device codes,
// device polling intervals, Google's 7-day "Testing" limit) is measured on it,
// so tests can move time forward instead of sleeping.
//
// Injected faults (FaultSlow) use real time on purpose: they exist to exercise
// a client's own timeouts, which run on the real clock.
type Clock interface{ Now() time.Time }

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

// FakeClock is a Clock that only moves when told to. It is safe for
// concurrent use.
type FakeClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewFakeClock returns a FakeClock reading t.
func NewFakeClock(t time.Time) *FakeClock { return &FakeClock{now: t} }

// Now returns the clock's current time.
func (c *FakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *FakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}
