package imapd

import (
	"errors"
	"maps"

	"mailtokens/internal/sandbox/mailauth"
)

// LoginStats counts the logins to one mailbox, so that tests can assert
// that a client logged in once, retried once after a refused token, or
// never fell back to a password.
type LoginStats struct {
	// Logins counts successful logins; Mechanisms splits them by
	// mechanism ("XOAUTH2", "OAUTHBEARER", "PLAIN", "LOGIN" for the LOGIN
	// command).
	Logins     int
	Mechanisms map[string]int
	// Failures counts refused logins. A message that did not even parse
	// names no mailbox and is not counted anywhere.
	Failures int
}

// Stats returns the login counts by mailbox address (lowercased).
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

// refused records a refused login and returns the Directory's verdict. Its
// reason goes to the log only: the client gets the service's own terse
// answer.
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
