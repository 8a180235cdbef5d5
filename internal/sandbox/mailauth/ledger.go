package mailauth

import (
	"errors"
	"log/slog"
	"maps"
	"strings"
	"sync"
)

// Normalize is how both services compare mailbox addresses.
func Normalize(mailbox string) string { return strings.ToLower(strings.TrimSpace(mailbox)) }

// LoginStats counts the logins to one mailbox, so that tests can assert
// that a client logged in once, retried once after a refused token, or
// never fell back to a password.
type LoginStats struct {
	// Logins counts successful logins; Mechanisms splits them by
	// mechanism ("XOAUTH2", "OAUTHBEARER", "PLAIN", "LOGIN").
	Logins     int
	Mechanisms map[string]int
	// Failures counts refused logins. A message that did not even parse
	// names no mailbox and is not counted anywhere.
	Failures int
}

// Ledger records a server's logins by mailbox and logs one line for each.
// It is safe for concurrent use.
type Ledger struct {
	Log *slog.Logger

	mu sync.Mutex
	m  map[string]*LoginStats
}

func (l *Ledger) entry(mailbox string) *LoginStats {
	if l.m == nil {
		l.m = map[string]*LoginStats{}
	}
	st := l.m[mailbox]
	if st == nil {
		st = &LoginStats{Mechanisms: map[string]int{}}
		l.m[mailbox] = st
	}
	return st
}

// LoggedIn records a successful login.
func (l *Ledger) LoggedIn(mech, mailbox string) {
	mailbox = Normalize(mailbox)
	l.mu.Lock()
	st := l.entry(mailbox)
	st.Logins++
	st.Mechanisms[mech]++
	l.mu.Unlock()
	l.Log.Info("login", "mailbox", mailbox, "mechanism", mech)
}

// Refused records a refused login and returns the Directory's verdict. Its
// reason goes to the log only: the client gets the service's own terse
// answer.
func (l *Ledger) Refused(mech, mailbox string, err error) *Rejected {
	mailbox = Normalize(mailbox)
	var r *Rejected
	if !errors.As(err, &r) {
		r = &Rejected{Reason: err.Error()}
	}
	l.mu.Lock()
	l.entry(mailbox).Failures++
	l.mu.Unlock()
	l.Log.Info("login refused", "mailbox", mailbox, "mechanism", mech, "reason", r.Reason)
	return r
}

// Stats returns the login counts by mailbox address (lowercased).
func (l *Ledger) Stats() map[string]LoginStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]LoginStats, len(l.m))
	for mailbox, st := range l.m {
		c := *st
		c.Mechanisms = maps.Clone(st.Mechanisms)
		out[mailbox] = c
	}
	return out
}
