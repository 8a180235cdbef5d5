package graphd

import (
	"net/http"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/sandbox/httpserve"
	"mailtokens/internal/sandbox/mailauth"
)

// Outlook's limits are per app and mailbox: 4 requests in flight and
// 10,000 requests in 10 minutes (learn.microsoft.com, "Microsoft Graph
// service-specific throttling limits", Outlook service limits). Both
// answer 429 with Retry-After.
var (
	errConcurrency = &apiError{http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.", time.Second}
	// The wording for the request budget is not confirmed; the code is
	// the one every Outlook throttling answer carries.
	errBudget = &apiError{http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxRequests limit.", 0}
)

type throttleKey struct{ app, mailbox string }

type throttle struct {
	mu       sync.Mutex
	inFlight map[throttleKey]int
	history  map[throttleKey][]time.Time // request times within the budget window, oldest first
	faults   httpserve.Faults[*apiError] // answers for the next requests
	hold     chan struct{}               // while set, admitted requests wait for it to close
}

func (t *throttle) init() {
	t.inFlight = map[throttleKey]int{}
	t.history = map[throttleKey][]time.Time{}
}

// acquire admits a request of app against mailbox or refuses it; release
// ends it. An admitted request waits while a Hold is on.
func (t *throttle) acquire(app, mailbox string, now time.Time, opt Options) (release func(), e *apiError) {
	k := throttleKey{app, mailbox}
	t.mu.Lock()
	if t.inFlight[k] >= opt.MaxConcurrent {
		t.mu.Unlock()
		return nil, errConcurrency
	}
	h := t.history[k]
	for len(h) > 0 && !h[0].After(now.Add(-opt.BudgetWindow)) {
		h = h[1:]
	}
	if len(h) >= opt.Budget {
		t.history[k] = h
		t.mu.Unlock()
		e := *errBudget
		e.retryAfter = max(h[0].Add(opt.BudgetWindow).Sub(now), time.Second)
		return nil, &e
	}
	t.history[k] = append(h, now)
	t.inFlight[k]++
	hold := t.hold
	t.mu.Unlock()
	if hold != nil {
		<-hold
	}
	return func() {
		t.mu.Lock()
		t.inFlight[k]--
		t.mu.Unlock()
	}, nil
}

func (t *throttle) releaseHold() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.hold != nil {
		close(t.hold)
		t.hold = nil
	}
}

// InjectFaults makes the next n requests, whatever they are, answer
// status (429 or 503, say) with Retry-After: retryAfter (rounded up to
// whole seconds; none when zero), before their token is looked at.
func (s *Server) InjectFaults(n, status int, retryAfter time.Duration) {
	e := &apiError{status: status, retryAfter: retryAfter}
	switch status {
	case http.StatusTooManyRequests:
		e.code, e.message = errConcurrency.code, errConcurrency.message
	case http.StatusServiceUnavailable:
		// Graph's errors page lists serviceNotAvailable for 503; the
		// message is the sandbox's.
		e.code, e.message = "ServiceNotAvailable", "The service is temporarily unavailable. Retry after the delay in Retry-After."
	default:
		e.code, e.message = "UnknownError", http.StatusText(status)
	}
	s.throttle.faults.Add(n, e)
}

// Hold makes every request admitted from now on wait, holding its
// concurrency slot, until release is called: a test fills an app's slots
// for a mailbox with it and sees the next request refused.
func (s *Server) Hold() (release func()) {
	s.throttle.mu.Lock()
	if s.throttle.hold == nil {
		s.throttle.hold = make(chan struct{})
	}
	s.throttle.mu.Unlock()
	return s.throttle.releaseHold
}

// InFlight returns how many requests of the app clientID against mailbox
// are being served.
func (s *Server) InFlight(clientID, mailbox string) int {
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	return s.throttle.inFlight[throttleKey{strings.ToLower(clientID), mailauth.Normalize(mailbox)}]
}
