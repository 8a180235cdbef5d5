package mailin

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func (r *rig) pop3Task(name string, keys map[string]string) string {
	host, port := splitAddr(r.pop3S)
	base := map[string]string{"MAILBOX_PROTOCOL": "POP3", "MAILBOX_HOST": host, "MAILBOX_PORT": port}
	for k, v := range keys {
		base[k] = v
	}
	return r.task(name, base)
}

func TestPOP3DeleteAndKeep(t *testing.T) {
	r := newRig(t)
	var want []string
	for i := range 4 {
		m := message(i, ".dot-stuffed line\r\n"+strings.Repeat("y", 6000))
		r.pop3.Add(r.World.MSUser, m)
		want = append(want, lf(m))
	}
	slices.Sort(want)
	// KEEP: delivered, left on the server, not delivered twice.
	keep := r.pop3Task("keep", map[string]string{"MAILBOX_AFTER_DELIVERY": "KEEP", "MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "keep")})
	for range 2 {
		if code, log := r.run(keep); code != 0 {
			t.Fatalf("keep: %d\n%s", code, log)
		}
	}
	if got := maildir(t, filepath.Join(r.Dir, "keep")); !slices.Equal(got, want) {
		t.Fatalf("KEEP: %d messages delivered, want %d byte-exact", len(got), len(want))
	}
	if n := len(r.pop3.Messages(r.World.MSUser)); n != 4 {
		t.Fatalf("KEEP left %d messages on the server", n)
	}
	// DELETE (the POP3 default) on the same mailbox: the messages
	// delivered before are recognised — the state belongs to the mailbox,
	// not to the destination — and removed with the new ones, which are
	// delivered.
	var fresh []string
	for i := 10; i < 12; i++ {
		m := message(i, "new")
		r.pop3.Add(r.World.MSUser, m)
		fresh = append(fresh, lf(m))
	}
	code, log := r.run(r.pop3Task("del", nil))
	if code != 0 || !strings.Contains(log, "delivered=2 recognised=4") || !strings.Contains(log, "done_on_server=6") {
		t.Fatalf("delete: %d\n%s", code, log)
	}
	if got := maildir(t, filepath.Join(r.Dir, "inbox")); !slices.Equal(got, fresh) {
		t.Fatalf("DELETE delivered %d messages, want the 2 new ones", len(got))
	}
	if n := len(r.pop3.Messages(r.World.MSUser)); n != 0 {
		t.Fatalf("DELETE left %d messages", n)
	}
}

// TestPOP3DroppedConnection: the connection drops in the middle of a RETR;
// nothing is deleted (no QUIT), what was delivered is recognised next time.
func TestPOP3DroppedConnection(t *testing.T) {
	r := newRig(t)
	for i := range 5 {
		r.pop3.Add(r.World.MSUser, message(i, "body"))
	}
	r.pop3.DropAfter(3)
	task := r.pop3Task("drop", nil)
	if code, _ := r.run(task); code != 1 {
		t.Fatalf("a dropped connection must fail the pass")
	}
	if n := len(r.pop3.Messages(r.World.MSUser)); n != 5 {
		t.Fatalf("%d messages on the server after a dropped session, want 5 (no QUIT, no deletion)", n)
	}
	r.pop3.ClearFaults()
	code, log := r.run(task)
	if code != 0 || !strings.Contains(log, "recognised=2") {
		t.Fatalf("after the drop: %d\n%s", code, log)
	}
	if n := len(maildir(t, filepath.Join(r.Dir, "inbox"))); n != 5 {
		t.Fatalf("%d delivered, want 5 exactly", n)
	}
}
