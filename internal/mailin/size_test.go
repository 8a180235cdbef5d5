package mailin

import (
	"bufio"
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestMaxMessageSize: a message over MAILBOX_MAX_MESSAGE_SIZE is left on the
// server, untouched, and logged once per process with its size; the others
// are delivered and dealt with as usual. The pass says too_large=1 and
// warns; it does not fail.
func TestMaxMessageSize(t *testing.T) {
	for _, proto := range []string{"POP3", "IMAP"} {
		t.Run(proto, func(t *testing.T) {
			r := newRig(t)
			small1, big, small2 := message(1, "small"), message(2, strings.Repeat("b", 3000)), message(3, "small too")
			for _, m := range [][]byte{small1, big, small2} {
				if proto == "POP3" {
					r.pop3.Add(r.World.MSUser, m)
				} else if _, err := r.imap.Append(r.World.MSUser, "INBOX", m); err != nil {
					t.Fatal(err)
				}
			}
			keys := map[string]string{"MAILBOX_MAX_MESSAGE_SIZE": "2KB", "MAILBOX_AFTER_DELIVERY": "DELETE"}
			task := r.task("size", keys)
			if proto == "POP3" {
				task = r.pop3Task("size", keys)
			}
			code, log := r.run(task)
			if code != 0 || !strings.Contains(log, "too_large=1") {
				t.Fatalf("exit %d\n%s", code, log)
			}
			if n := strings.Count(log, "larger than MAILBOX_MAX_MESSAGE_SIZE"); n != 1 || !strings.Contains(log, fmt.Sprintf("size=%d limit=2048", len(big))) {
				t.Fatalf("the message is logged %d times, want once with its size %d\n%s", n, len(big), log)
			}
			// The token's page warns about it, on the task's row.
			if note := r.taskNote(); !strings.Contains(note, "1 message(s) larger than MAILBOX_MAX_MESSAGE_SIZE (2048 bytes)") ||
				!strings.Contains(note, fmt.Sprintf("the largest %d bytes", len(big))) {
				t.Fatalf("the task's note: %q", note)
			}
			// The next process: POP3 lists the message again and says so
			// again; IMAP has passed over its UID and is silent.
			code, log = r.run(task)
			if want := map[string]int{"POP3": 1, "IMAP": 0}[proto]; code != 0 || strings.Count(log, "larger than MAILBOX_MAX_MESSAGE_SIZE") != want {
				t.Fatalf("second process: exit %d, want the message logged %d times\n%s", code, want, log)
			}
			want := []string{lf(small1), lf(small2)}
			slices.Sort(want)
			if got := maildir(t, filepath.Join(r.Dir, "inbox")); !slices.Equal(got, want) {
				t.Fatalf("delivered %d messages, want the 2 small ones", len(got))
			}
			left := r.onServer(proto, r.imap, r.World.MSUser)
			if len(left) != 1 || string(left[0]) != string(big) {
				t.Fatalf("%d messages left on the server, want the large one", len(left))
			}
			// Both keep the note: POP3 saw the message again, IMAP knows
			// it will not fetch it.
			if r.taskNote() == "" {
				t.Fatal("the note is gone although the message is still on the server")
			}
		})
	}
}

// TestMessageLargerThanAnnounced: a POP3 server that announces a small
// size and then sends without end is cut off at the limit (the connection
// closed, not drained), and nothing is delivered or deleted.
func TestMessageLargerThanAnnounced(t *testing.T) {
	r := newRig(t)
	addr := hostilePOP3(t, say("+OK ready\r\n"), map[string]func(*bufio.Writer){
		"UIDL": manyUIDs(1, "u"),
		"LIST": say("+OK\r\n1 100\r\n.\r\n"),
		"RETR": endless("+OK\r\nSubject: liar\r\n\r\n", 1<<40, ""),
	})
	code, log := r.run(r.pop3HostileTask(addr, map[string]string{"MAILBOX_MAX_MESSAGE_SIZE": "1MB"}))
	if code != 1 || !strings.Contains(log, "larger than MAILBOX_MAX_MESSAGE_SIZE, although the server said") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	if got := maildir(t, filepath.Join(r.Dir, "inbox")); len(got) != 0 {
		t.Fatalf("%d messages delivered", len(got))
	}
}

// taskNote is the note evmail keeps on its task, as the token's page
// shows it.
func (r *rig) taskNote() string {
	r.t.Helper()
	st := r.OpenStore(r.t)
	defer st.Close()
	tasks, err := st.Tasks(context.Background(), "support")
	if err != nil || len(tasks) != 1 {
		r.t.Fatalf("tasks: %+v %v", tasks, err)
	}
	return tasks[0].Note
}
