package mailin

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/testenv/pgtest"
)

// TestDatabaseRestartWhileReceiving: PostgreSQL restarts while evmail
// delivers a batch, and mail arrives while it is down. evmail says so as a
// warning (it passes by itself), carries on, and in the end every message
// is in the Maildir once, recorded delivered once.
func TestDatabaseRestartWhileReceiving(t *testing.T) {
	srv := pgtest.NewServer(t)
	r := newRigWith(t, sandboxtest.StoreAt(srv.URL(t)))
	const before, during = 40, 5
	for i := 1; i <= before; i++ {
		r.imap.Append(r.World.MSUser, "INBOX", message(i, strings.Repeat("body ", 2000)))
	}
	inbox := filepath.Join(r.Dir, "inbox")
	log := r.start(r.task("restart", nil))
	waitFor(t, "the first delivery", func() bool { return len(maildir(t, inbox)) > 0 })
	srv.Stop(t) // in the middle of the batch, most likely
	for i := before + 1; i <= before+during; i++ {
		r.imap.Append(r.World.MSUser, "INBOX", message(i, "while the database is down"))
	}
	waitFor(t, "a failure logged while the database is down", func() bool {
		return strings.Contains(log.String(), "the database is unavailable")
	})
	srv.Start(t)
	waitFor(t, "every message", func() bool { return len(maildir(t, inbox)) >= before+during })
	time.Sleep(3 * time.Second) // a few more passes: nothing comes twice

	got := maildir(t, inbox)
	seen := map[string]bool{}
	for _, m := range got {
		id := m[strings.Index(m, "Message-ID:"):]
		id = id[:strings.Index(id, "\n")]
		if seen[id] {
			t.Errorf("delivered twice: %s", id)
		}
		seen[id] = true
	}
	if len(got) != before+during || len(seen) != before+during {
		t.Fatalf("%d messages delivered (%d distinct), want %d", len(got), len(seen), before+during)
	}
	// The ledger: nothing left pending, the mark past every message.
	st := r.OpenStore(t)
	var pending int
	var lastUID int64
	ctx := context.Background()
	if err := st.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM deliveries WHERE state = 'pending'`).Scan(&pending); err != nil {
		t.Fatal(err)
	}
	if err := st.DB().QueryRowContext(ctx, `SELECT MAX(last_uid) FROM mailboxes`).Scan(&lastUID); err != nil {
		t.Fatal(err)
	}
	if pending != 0 || lastUID != before+during {
		t.Errorf("the ledger: %d pending, last UID %d; want 0 and %d", pending, lastUID, before+during)
	}
	// Who must act: nobody. The outage is a warning, never an error.
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("the outage was logged as an error:\n%s", line)
		}
	}
}
