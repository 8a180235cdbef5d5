package mailout

import (
	"context"
	"time"

	"mailtokens/internal/clock"
)

// rateLimit lets at most perMinute transactions end in any 60 seconds
// (0 = no limit). It counts when a transaction ends, not when it starts:
// servers count a message when they accept it, which is after it started,
// so counting starts would let a server see one message too many in its
// minute.
type rateLimit struct {
	perMinute int
	clock     clock.Sleeper
	recent    []time.Time // ends of the latest transactions, oldest first, at most perMinute
}

// wait returns when one more transaction may start, or false when ctx
// ended first.
func (l *rateLimit) wait(ctx context.Context) bool {
	if l.perMinute <= 0 || len(l.recent) < l.perMinute {
		return ctx.Err() == nil
	}
	d := l.recent[0].Add(time.Minute).Sub(l.clock.Now())
	return l.clock.Sleep(ctx, d)
}

// done records the end of a transaction.
func (l *rateLimit) done() {
	if l.perMinute <= 0 {
		return
	}
	if len(l.recent) == l.perMinute {
		l.recent = l.recent[1:]
	}
	l.recent = append(l.recent, l.clock.Now())
}
