package gmaild

import (
	"net/http"
	"sync"
	"time"

	"mailtokens/internal/sandbox/httpserve"
	"mailtokens/internal/sandbox/mailauth"
)

// Gmail's per-user rate limit is in quota units per minute (each method
// costs its units). Over it, users report 429 with reason
// rateLimitExceeded and "User-rate limit exceeded.  Retry after <time>";
// the "Resolve errors" page also names 403 userRateLimitExceeded and 429
// "Too many concurrent requests for user" (InjectFaults gives those).

type spent struct {
	at    time.Time
	units int
}

type throttle struct {
	mu     sync.Mutex
	used   map[string][]spent // per mailbox, oldest first, within the window
	faults httpserve.Faults[*apiError]
}

func (t *throttle) init() { t.used = map[string][]spent{} }

// spend charges units to mailbox, or refuses the request when the window
// has no room for them.
func (t *throttle) spend(mailbox string, units int, now time.Time, opt Options) *apiError {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.used[mailbox]
	for len(h) > 0 && !h[0].at.After(now.Add(-opt.QuotaWindow)) {
		h = h[1:]
	}
	total := 0
	for _, x := range h {
		total += x.units
	}
	if total+units > opt.UserQuota {
		t.used[mailbox] = h
		// The request fits once enough of the oldest spending has left
		// the window.
		free, at := opt.UserQuota-total, now
		for _, x := range h {
			free += x.units
			at = x.at.Add(opt.QuotaWindow)
			if free >= units {
				break
			}
		}
		wait := max(at.Sub(now), time.Second)
		return &apiError{status: http.StatusTooManyRequests, reason: "rateLimitExceeded",
			message:    "User-rate limit exceeded.  Retry after " + now.Add(wait).UTC().Format("2006-01-02T15:04:05.000Z"),
			retryAfter: wait}
	}
	t.used[mailbox] = append(h, spent{now, units})
	return nil
}

// InjectFaults makes the next n requests, whatever they are, answer
// status with Retry-After: retryAfter (rounded up to whole seconds; none
// when zero), before their token is looked at: 429 is Gmail's
// rateLimitExceeded ("Too many concurrent requests for user"), 403 its
// userRateLimitExceeded, 503 backendError, 500 internal.
func (s *Server) InjectFaults(n, status int, retryAfter time.Duration) {
	e := &apiError{status: status, retryAfter: retryAfter}
	switch status {
	case http.StatusTooManyRequests:
		e.reason, e.message = "rateLimitExceeded", "Too many concurrent requests for user"
	case http.StatusForbidden:
		e.reason, e.message = "userRateLimitExceeded", "User Rate Limit Exceeded"
	case http.StatusServiceUnavailable:
		e.reason, e.message = "backendError", "The service is currently unavailable."
	default:
		e.reason, e.message = "backendError", http.StatusText(status)
	}
	s.throttle.faults.Add(n, e)
}

// QuotaUsed returns the quota units mailbox spent in the current window.
func (s *Server) QuotaUsed(mailbox string) int {
	s.throttle.mu.Lock()
	defer s.throttle.mu.Unlock()
	cut := s.now().Add(-s.opt.QuotaWindow)
	total := 0
	for _, x := range s.throttle.used[mailauth.Normalize(mailbox)] {
		if x.at.After(cut) {
			total += x.units
		}
	}
	return total
}
