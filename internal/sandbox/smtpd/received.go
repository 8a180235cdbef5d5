package smtpd

import (
	"context"
	"slices"
	"time"
)

// Message is a message the server accepted.
type Message struct {
	// From is the MAIL FROM address, as sent ("" for the null sender).
	From string
	// To are the RCPT TO addresses the server accepted, in order.
	To []string
	// Raw is the message as received: dot-stuffing undone, CRLF kept.
	Raw []byte
	// Mailbox is the mailbox the client authenticated as, lowercased; for
	// a shared mailbox it is the shared address, not the token owner's.
	Mailbox string
	// Time is when the server accepted it, by Options.Clock.
	Time time.Time
	// Dropped is set when the server closed the connection instead of
	// answering 250 (DropAfterData): the message arrived, the sender
	// cannot know.
	Dropped bool
}

// record keeps m, wakes WaitReceived, and hands m to the Deliver hook.
func (s *Server) record(m Message) {
	s.mu.Lock()
	m.Time = s.clock.Now()
	s.received = append(s.received, m)
	if s.opt.RatePerMinute > 0 {
		s.submitted[m.Mailbox] = append(s.submitted[m.Mailbox], m.Time)
	}
	close(s.arrived)
	s.arrived = make(chan struct{})
	s.mu.Unlock()
	s.log.Info("message accepted", "mailbox", m.Mailbox, "from", m.From, "rcpts", len(m.To), "bytes", len(m.Raw), "dropped", m.Dropped)
	if s.opt.Deliver != nil {
		for _, rcpt := range m.To {
			s.opt.Deliver(rcpt, m.Raw)
		}
	}
}

// Received returns the messages accepted so far, oldest first. The Raw
// slices are shared with the server and must not be modified.
func (s *Server) Received() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := slices.Clone(s.received)
	for i := range out {
		out[i].To = slices.Clone(out[i].To)
	}
	return out
}

// WaitReceived waits until at least n messages have been accepted and
// returns them all, or returns ctx's error with those accepted so far.
func (s *Server) WaitReceived(ctx context.Context, n int) ([]Message, error) {
	for {
		s.mu.Lock()
		got, arrived := len(s.received), s.arrived
		s.mu.Unlock()
		if got >= n {
			return s.Received(), nil
		}
		select {
		case <-arrived:
		case <-ctx.Done():
			return s.Received(), ctx.Err()
		}
	}
}
