package dovecot

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailtokens/internal/testenv"
)

// Helpers for tests. They compile into the package (it is sandbox-only) so
// that other packages' tests can use them. Each wraps the function that
// does the work: a missing program or privilege skips the test (fails it
// under MAILTOKENS_REQUIRE_ALL=1, see testenv), any other error fails it,
// and what is started stops when the test ends.

// Require skips t (fails it under MAILTOKENS_REQUIRE_ALL=1) when Dovecot
// cannot run here; see Missing.
func Require(t testing.TB) {
	t.Helper()
	if err := Missing(); err != nil {
		fatal(t, err)
	}
}

// Start runs a private Dovecot for t on free loopback ports and stops it when
// t ends. It skips t (fails it under MAILTOKENS_REQUIRE_ALL=1) when Dovecot
// is not installed or the test is not root, and fails t with the tail of
// Dovecot's log when the instance does not come up.
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := launch(opt, t.Logf)
	if err != nil {
		fatal(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// StartSink runs smtp-sink for t and stops it when t ends. It skips t (fails
// it under MAILTOKENS_REQUIRE_ALL=1) when smtp-sink is not installed.
func StartSink(t testing.TB) *Sink {
	t.Helper()
	s, err := launchSink(t.Logf)
	if err != nil {
		fatal(t, err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// fatal skips t for a *MissingError (see testenv.Missing) and fails it for
// anything else.
func fatal(t testing.TB, err error) {
	t.Helper()
	if m, ok := errors.AsType[*MissingError](err); ok {
		testenv.Missing(t, m.What, m.Remedy)
	}
	t.Fatal(err)
}

// Deliver is Save into INBOX, failing t on error. Call it from the test's
// goroutine.
func (s *Server) Deliver(t testing.TB, user string, msg []byte) {
	t.Helper()
	s.DeliverTo(t, user, "INBOX", msg)
}

// DeliverTo is Save, failing t on error. Call it from the test's goroutine.
func (s *Server) DeliverTo(t testing.TB, user, folder string, msg []byte) {
	t.Helper()
	if err := s.Save(user, folder, msg); err != nil {
		t.Fatal(err)
	}
}

// DeliverMany is SaveMany, failing t on error. Call it from the test's
// goroutine.
func (s *Server) DeliverMany(t testing.TB, user string, msgs [][]byte) {
	t.Helper()
	if err := s.SaveMany(user, msgs); err != nil {
		t.Fatal(err)
	}
}

// Mailbox is Fetch, failing t on error. Call it from the test's goroutine.
func (s *Server) Mailbox(t testing.TB, user, folder string) []Message {
	t.Helper()
	msgs, err := s.Fetch(user, folder)
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// Messages is Received, failing t on error. Call it from the test's
// goroutine.
func (s *Sink) Messages(t testing.TB) []SinkMessage {
	t.Helper()
	msgs, err := s.Received()
	if err != nil {
		t.Fatal(err)
	}
	return msgs
}

// WaitMessages waits until at least n messages have arrived and returns
// them all, or fails t with what did arrive when ctx ends first. Call it from
// the test's goroutine.
func (s *Sink) WaitMessages(ctx context.Context, t testing.TB, n int) []SinkMessage {
	t.Helper()
	ticker := time.NewTicker(pollInterval)
	defer ticker.Stop()
	for {
		msgs, err := s.Received()
		if err != nil {
			t.Fatal(err)
		}
		if len(msgs) >= n {
			return msgs
		}
		select {
		case <-ctx.Done():
			t.Fatalf("smtp-sink: %d of %d messages arrived before %v\n%s", len(msgs), n, ctx.Err(), readTail(20, s.out))
		case <-s.proc.exited:
			t.Fatalf("smtp-sink exited (%v) with %d of %d messages\n%s", s.proc.err, len(msgs), n, readTail(20, s.out))
		case <-ticker.C:
		}
	}
}
