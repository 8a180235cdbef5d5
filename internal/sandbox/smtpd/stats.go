package smtpd

import "mailtokens/internal/sandbox/mailauth"

// Stats returns the login counts by mailbox address (lowercased).
func (s *Server) Stats() map[string]mailauth.LoginStats { return s.ledger.Stats() }

func (s *Server) loggedIn(mech, mailbox string) { s.ledger.LoggedIn(mech, mailbox) }

// refused records a refused login and returns the Directory's verdict; its
// reason goes to the log only.
func (s *Server) refused(mech, mailbox string, err error) *mailauth.Rejected {
	return s.ledger.Refused(mech, mailbox, err)
}

// normalize is how both services compare mailbox addresses.
func normalize(mailbox string) string { return mailauth.Normalize(mailbox) }
