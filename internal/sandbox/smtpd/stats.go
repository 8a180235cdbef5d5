package smtpd

import (
	"errors"
	"maps"
	"strings"

	"mailtokens/internal/sandbox/mailauth"
)

// LoginStats counts the AUTH attempts for one mailbox, so that tests can
// assert that a sender logged in once, or retried once after a refused
// token.
type LoginStats struct {
	// Logins counts successful AUTHs; Mechanisms splits them by mechanism.
	Logins     int
	Mechanisms map[string]int
	// Failures counts refused AUTHs. A message that did not even parse
	// names no mailbox and is not counted anywhere.
	Failures int
}

// Stats returns the AUTH counts by mailbox address (lowercased).
func (s *Server) Stats() map[string]LoginStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]LoginStats, len(s.stats))
	for mailbox, st := range s.stats {
		c := *st
		c.Mechanisms = maps.Clone(st.Mechanisms)
		out[mailbox] = c
	}
	return out
}

// normalize is how both services compare mailbox addresses.
func normalize(mailbox string) string { return strings.ToLower(strings.TrimSpace(mailbox)) }

func (s *Server) statsLocked(mailbox string) *LoginStats {
	st := s.stats[mailbox]
	if st == nil {
		st = &LoginStats{Mechanisms: map[string]int{}}
		s.stats[mailbox] = st
	}
	return st
}

func (s *Server) loggedIn(mech, mailbox string) {
	mailbox = normalize(mailbox)
	s.mu.Lock()
	st := s.statsLocked(mailbox)
	st.Logins++
	st.Mechanisms[mech]++
	s.mu.Unlock()
	s.log.Info("login", "mailbox", mailbox, "mechanism", mech)
}

// refused records a refused AUTH and returns the Directory's verdict. Its
// reason goes to the log only: the client gets the service's own reply.
func (s *Server) refused(mech, mailbox string, err error) *mailauth.Rejected {
	mailbox = normalize(mailbox)
	var r *mailauth.Rejected
	if !errors.As(err, &r) {
		r = &mailauth.Rejected{Reason: err.Error()}
	}
	s.mu.Lock()
	s.statsLocked(mailbox).Failures++
	s.mu.Unlock()
	s.log.Info("login refused", "mailbox", mailbox, "mechanism", mech, "reason", r.Reason)
	return r
}
