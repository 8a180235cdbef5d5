package smtpd

import "time"

// admit reports whether mailbox may start another message: fewer than
// RatePerMinute of its messages were accepted in the last 60 seconds. It
// also forgets acceptances older than that.
func (s *Server) admit(mailbox string) bool {
	if s.opt.RatePerMinute == 0 {
		return true
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cutoff := s.clock.Now().Add(-time.Minute)
	recent := s.submitted[mailbox]
	for len(recent) > 0 && !recent[0].After(cutoff) {
		recent = recent[1:]
	}
	s.submitted[mailbox] = recent
	return len(recent) < s.opt.RatePerMinute
}
