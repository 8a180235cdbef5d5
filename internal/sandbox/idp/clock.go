package idp

import "mailtokens/internal/clock"

// Clock is the sandbox's sense of time. Every expiry the providers enforce
// (access tokens, refresh-token inactivity, authorization codes, device codes,
// device polling intervals, Google's 7-day "Testing" limit) is measured on it,
// so tests can move time forward (with a [clock.Fake]) instead of sleeping.
//
// Injected faults (FaultSlow) use real time on purpose: they exist to exercise
// a client's own timeouts, which run on the real clock.
type Clock = clock.Clock
