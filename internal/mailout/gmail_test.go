package mailout

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestGmailAPISend: batchmail with MAIL_PROTOCOL = GMAIL_API sends each
// queued message once, byte for byte, with a token holding only
// gmail.send; Bcc is delivered but not shown; a 403 userRateLimitExceeded
// is temporary: the message waits for Retry-After and goes out later.
func TestGmailAPISend(t *testing.T) {
	e := newGmailRig(t, "")
	spool := e.spool
	once := func() (int, string) { return e.once(t) }
	from := e.World.GoogleUser
	queue(t, spool, "a", testMessage(from, "a@example.net", "one", "first"))
	withBcc := crlf(fmt.Sprintf("From: %s\nTo: c@example.net\nBcc: hidden@example.net\nSubject: two\nMessage-ID: <two@test>\n\nsecond\n", from))
	queue(t, spool, "b", withBcc)
	if code, log := once(); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	sent := e.GmailAPI.Sent()
	if len(sent) != 2 {
		t.Fatalf("the Gmail API got %d messages, want 2", len(sent))
	}
	for _, s := range sent {
		if strings.Contains(string(s.Raw), "Subject: two") {
			if string(s.Raw) != withBcc || !slices.Equal(s.Recipients, []string{"c@example.net", "hidden@example.net"}) || strings.Contains(string(s.Delivered), "hidden@") {
				t.Fatalf("Bcc message: byte-exact %v, recipients %v, Bcc shown %v", string(s.Raw) == withBcc, s.Recipients, strings.Contains(string(s.Delivered), "hidden@"))
			}
		}
	}

	e.GmailAPI.InjectFaults(1, http.StatusForbidden, 30*time.Second)
	queue(t, spool, "c", testMessage(from, "c@example.net", "three", "third"))
	before := time.Now()
	code, log := once()
	if code != 1 || len(e.GmailAPI.Sent()) != 2 {
		t.Fatalf("rate-limited pass: exit %d, %d sent\n%s", code, len(e.GmailAPI.Sent()), log)
	}
	st := mustState(t, spool, "c")
	if st.NextAttempt.Before(before.Add(30*time.Second)) || !strings.Contains(st.LastReply, "userRateLimitExceeded") {
		t.Fatalf("deferred until %v after, reply %q", st.NextAttempt.Sub(before), st.LastReply)
	}
	if len(files(t, spool, DirFailed)) != 0 {
		t.Fatal("a rate limit failed the message")
	}
	st.NextAttempt = time.Now().Add(-time.Second)
	spool.saveState("c", st)
	if code, log := once(); code != 0 || len(e.GmailAPI.Sent()) != 3 {
		t.Fatalf("after the pause: exit %d, %d sent\n%s", code, len(e.GmailAPI.Sent()), log)
	}
}
