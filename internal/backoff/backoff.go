// Package backoff is the one capped exponential delay after failures, used
// by the token store (between refresh attempts), by evmail and batchmail
// (between passes that fail) and by batchmail (between a message's sending
// attempts).
package backoff

import (
	"time"

	"mailtokens/internal/advice"
)

// Backoff is a capped exponential delay: Min, 2·Min, 4·Min … Max. The
// zero count is for callers that keep their own (Delay); Next, After and
// Reset count the failures in a row.
type Backoff struct {
	Min, Max time.Duration
	n        int
}

// Delay is the pause after the n-th failure in a row (n ≥ 1).
func (b Backoff) Delay(n int) time.Duration {
	d := b.Min
	for i := 1; i < n && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// Next counts one more failure and returns the pause after it.
func (b *Backoff) Next() time.Duration {
	b.n++
	return b.Delay(b.n)
}

// After is the pause before trying again after err: the next delay, but at
// most poll when err waits for a person to sign in again
// ([advice.Reauthorize]). The token store says so without asking the
// provider, so looking again every poll costs nothing, and mail moves soon
// after someone clicks Get Email Token.
func (b *Backoff) After(err error, poll time.Duration) time.Duration {
	d := b.Next()
	if _, kind := advice.Of(err); kind == advice.Reauthorize {
		d = min(d, poll)
	}
	return d
}

// Reset starts over after a success.
func (b *Backoff) Reset() { b.n = 0 }
