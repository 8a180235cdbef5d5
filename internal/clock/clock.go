// Package clock is the time a component plans by, so that a test can move
// it instead of waiting: the product's stores and workers and the sandbox's
// fake providers and servers read the same [Clock], and a test hands them
// one [Fake].
package clock

import (
	"context"
	"sync"
	"time"
)

// Clock tells the time.
type Clock interface{ Now() time.Time }

// Sleeper is a Clock one can wait on: what a worker plans its retries and
// pauses by.
type Sleeper interface {
	Clock
	// Sleep waits d or until ctx ends, and reports whether the whole d
	// passed.
	Sleep(ctx context.Context, d time.Duration) bool
}

// Real is the wall clock.
type Real struct{}

// Now is time.Now.
func (Real) Now() time.Time { return time.Now() }

// Sleep is the package's Sleep.
func (Real) Sleep(ctx context.Context, d time.Duration) bool { return Sleep(ctx, d) }

// Sleep waits d of real time or until ctx ends; it reports whether the
// whole d passed.
func Sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Fake is a Clock that moves only when told to, or when something sleeps on
// it. It is safe for concurrent use.
type Fake struct {
	mu  sync.Mutex
	now time.Time
}

// NewFake returns a Fake reading t.
func NewFake(t time.Time) *Fake { return &Fake{now: t} }

// Now returns the clock's current time.
func (c *Fake) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Fake) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Set moves the clock to t, forward or back.
func (c *Fake) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

// Sleep passes at once and moves the clock on by d; it reports false, and
// moves nothing, when ctx has ended. It has the shape of a worker's sleep
// (true when the whole d passed), so a Fake stands in for a worker's clock.
func (c *Fake) Sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d > 0 {
		c.Advance(d)
	}
	return true
}
