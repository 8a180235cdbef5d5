package mailin

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDovecot receives from a real Dovecot over IMAP (MOVE) and POP3
// (DELETE), logging in with XOAUTH2 checked by the sandbox's introspection.
func TestDovecot(t *testing.T) {
	r := newRig(t)
	dc := r.Dovecot(t)
	var want []string
	for i := range 6 {
		m := message(i, ".leading dot\r\n"+strings.Repeat("z", 3000))
		dc.Deliver(t, r.World.MSUser, m)
		want = append(want, lf(m))
	}
	slices.Sort(want)
	host, port := splitAddr(dc.IMAPSAddr)
	task := r.task("dovecot-imap", map[string]string{"MAILBOX_HOST": host, "MAILBOX_PORT": port, "MAILBOX_TLS_CA_FILE": dc.CAFile,
		"MAILBOX_AFTER_DELIVERY": "MOVE", "MAILBOX_MOVE_TO": "Processed"})
	if code, log := r.run(task); code != 0 {
		t.Fatalf("IMAP: %d\n%s\n%s", code, log, dc.Log())
	}
	if got := maildir(t, filepath.Join(r.Dir, "inbox")); !slices.Equal(got, want) {
		t.Fatalf("IMAP delivered %d messages, want %d byte-exact", len(got), len(want))
	}
	if n := len(dc.Mailbox(t, r.World.MSUser, "INBOX")); n != 0 {
		t.Fatalf("%d messages left in INBOX", n)
	}
	if n := len(dc.Mailbox(t, r.World.MSUser, "Processed")); n != 6 {
		t.Fatalf("%d messages in Processed", n)
	}

	// POP3 with STARTTLS, DELETE.
	for i := 10; i < 13; i++ {
		dc.Deliver(t, r.World.MSUser, message(i, "pop"))
	}
	host, port = splitAddr(dc.POP3Addr)
	task = r.task("dovecot-pop3", map[string]string{"MAILBOX_PROTOCOL": "POP3", "MAILBOX_HOST": host, "MAILBOX_PORT": port,
		"MAILBOX_SECURITY": "STARTTLS", "MAILBOX_TLS_CA_FILE": dc.CAFile, "MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "pop")})
	if code, log := r.run(task); code != 0 {
		t.Fatalf("POP3: %d\n%s\n%s", code, log, dc.Log())
	}
	if n := len(maildir(t, filepath.Join(r.Dir, "pop"))); n != 3 {
		t.Fatalf("POP3 delivered %d", n)
	}
	if n := len(dc.Mailbox(t, r.World.MSUser, "INBOX")); n != 0 {
		t.Fatalf("POP3 DELETE left %d", n)
	}
}
