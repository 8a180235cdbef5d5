package mailin

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
)

// TestReloadUnchanged: a SIGHUP to a real evmail process whose file did
// not change does not kill it (exit 129 before) nor restart the task: it
// says so and keeps delivering, and stops cleanly on SIGTERM.
func TestReloadUnchanged(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evmail processes")
	}
	r := newRig(t)
	task := r.task("hup", map[string]string{"LOG_LEVEL": "INFO"})
	inbox := filepath.Join(r.Dir, "inbox")
	logFile, err := os.Create(filepath.Join(r.Dir, "evmail.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	logged := func() string { b, _ := os.ReadFile(logFile.Name()); return string(b) }
	cmd := evmailProcess(t, logFile, "-conf", task)
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	r.imap.Append(r.World.MSUser, "INBOX", message(1, "before the reload"))
	waitFor(t, "the first delivery", func() bool { return len(maildir(t, inbox)) == 1 })

	cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, "the reload", func() bool { return strings.Contains(logged(), "reloaded: no change") })
	r.imap.Append(r.World.MSUser, "INBOX", message(2, "after the reload"))
	waitFor(t, "delivery after the reload", func() bool { return len(maildir(t, inbox)) == 2 })
	if n := strings.Count(logged(), "evmail started"); n != 1 {
		t.Fatalf("started %d times, want once: an unchanged file restarted the task\n%s", n, logged())
	}

	cmd.Process.Signal(syscall.SIGTERM)
	if err := <-exited; err != nil {
		t.Fatalf("evmail: %v\n%s", err, tail(logged(), 3000))
	}
	if counts := deliveredCounts(t, inbox); counts["m1"] != 1 || counts["m2"] != 1 {
		t.Fatalf("delivered %v", counts)
	}
}

// TestReloadNewMaildir: an edited file (a new Maildir) and SIGHUP: the
// task restarts with it, mail arriving afterwards lands in the new
// Maildir, and every message is delivered once across the two, including
// those that arrived while the task was restarting.
func TestReloadNewMaildir(t *testing.T) {
	r := newRig(t)
	old, moved := filepath.Join(r.Dir, "inbox"), filepath.Join(r.Dir, "moved")
	task := r.task("edit", nil)
	log, hup := r.startReloadable(task)
	add := func(from, to int) {
		for i := from; i < to; i++ {
			if _, err := r.imap.Append(r.World.MSUser, "INBOX", message(i, fmt.Sprintf("message %d", i))); err != nil {
				t.Fatal(err)
			}
		}
	}
	both := func() map[string]int {
		counts := deliveredCounts(t, old)
		for id, n := range deliveredCounts(t, moved) {
			counts[id] += n
		}
		return counts
	}
	add(0, 10)
	waitFor(t, "the first ten", func() bool { return len(maildir(t, old)) == 10 })

	r.task("edit", map[string]string{"MAILBOX_DELIVER_TO": "maildir:" + moved})
	add(10, 20) // on their way while the task restarts
	hup <- syscall.SIGHUP
	waitFor(t, "the restart", func() bool { return strings.Count(log.String(), "evmail started") == 2 })
	if !strings.Contains(log.String(), "changed=MAILBOX_DELIVER_TO") {
		t.Fatalf("the log does not name the changed key:\n%s", log)
	}
	add(20, 30)
	waitFor(t, "all thirty", func() bool { return len(both()) == 30 })
	counts := both()
	for id, n := range counts {
		if n != 1 {
			t.Fatalf("message %s delivered %d times", id, n)
		}
	}
	movedCounts := deliveredCounts(t, moved)
	for i := 20; i < 30; i++ {
		if movedCounts[fmt.Sprintf("m%d", i)] != 1 {
			t.Fatalf("m%d, received after the reload, is not in the new Maildir: %v", i, movedCounts)
		}
	}
}

// TestReloadBrokenFile: a file that no longer validates is reported, each
// problem with file:line, and the task keeps receiving with the settings
// it has.
func TestReloadBrokenFile(t *testing.T) {
	r := newRig(t)
	inbox := filepath.Join(r.Dir, "inbox")
	task := r.task("broken", nil)
	log, hup := r.startReloadable(task)
	r.imap.Append(r.World.MSUser, "INBOX", message(1, "before"))
	waitFor(t, "the first delivery", func() bool { return len(maildir(t, inbox)) == 1 })

	r.task("broken", map[string]string{"MAILBOX_PORT": "many", "MAILBOX_POLL_INTERVAL": "soon",
		"MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "elsewhere")})
	hup <- syscall.SIGHUP
	waitFor(t, "the refusal", func() bool { return strings.Count(log.String(), "reload refused") >= 2 })
	for _, key := range []string{"MAILBOX_PORT", "MAILBOX_POLL_INTERVAL"} {
		if !regexp.MustCompile(regexp.QuoteMeta(task) + `:\d+: ` + key + `: `).MatchString(log.String()) {
			t.Fatalf("the problem with %s is not logged with file:line:\n%s", key, log)
		}
	}
	r.imap.Append(r.World.MSUser, "INBOX", message(2, "after"))
	waitFor(t, "delivery with the old settings", func() bool { return len(maildir(t, inbox)) == 2 })
	if n := strings.Count(log.String(), "evmail started"); n != 1 {
		t.Fatalf("started %d times, want once\n%s", n, log)
	}
}
