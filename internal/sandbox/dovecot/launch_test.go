package dovecot

import (
	"errors"
	"os"
	"testing"
)

// TestLaunchStop: outside a test's cleanups, Stop takes everything Launch
// started with it — Dovecot, the smtp-sink it relays to, both directories
// — and a second Stop is harmless.
func TestLaunchStop(t *testing.T) {
	t.Parallel()
	Require(t)
	s, err := Launch(Options{IntrospectionURL: "http://127.0.0.1:9/introspect", TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Save("someone@example.net", "INBOX", []byte("Subject: x\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if msgs, err := s.Fetch("someone@example.net", "INBOX"); err != nil || len(msgs) != 1 {
		t.Fatalf("Fetch after Save: %d messages, %v", len(msgs), err)
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if !s.proc.hasExited() || !s.Sink.proc.hasExited() {
		t.Error("Dovecot or smtp-sink still running after Stop")
	}
	for _, dir := range []string{s.Dir, s.Sink.Dir} {
		if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s left behind (%v)", dir, err)
		}
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}
