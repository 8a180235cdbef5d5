package mailin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// deliverScript is a delivery program that, like procmail or dovecot-lda,
// reads the whole message and only then puts it in place: it writes stdin
// to a file in dir/tmp and moves it into dir/new when stdin ends. Killed
// before stdin ends, it delivers nothing.
func deliverScript(t *testing.T, dir string) string {
	t.Helper()
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	script := filepath.Join(dir, "deliver.sh")
	body := fmt.Sprintf("#!/bin/sh\nf=$(mktemp %q) || exit 1\ncat > \"$f\" || exit 1\nmv \"$f\" %q\n",
		filepath.Join(dir, "tmp", "m.XXXXXX"), filepath.Join(dir, "new")+"/")
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return script
}

// TestPOP3CutAtEveryByte sweeps the point where the server cuts a RETR
// across every byte of the reply (+OK line, dot-stuffed message,
// terminating line, and just past it), with DELETE after delivery, into a
// Maildir and into a program. A pass whose RETR is cut fails and deletes
// nothing, and leaves no copy of the message but a whole one; once the
// server behaves, the next pass delivers it and deletes it: each message
// arrives exactly once, whole.
func TestPOP3CutAtEveryByte(t *testing.T) {
	for _, dest := range []string{"maildir", "command"} {
		t.Run(dest, func(t *testing.T) {
			r := newRig(t)
			out := filepath.Join(r.Dir, "out-"+dest)
			deliverTo := "maildir:" + out
			if dest == "command" {
				deliverTo = "command:" + deliverScript(t, out)
			}
			task := r.pop3Task(dest, map[string]string{"MAILBOX_DELIVER_TO": deliverTo, "MAILBOX_AFTER_DELIVERY": "DELETE"})
			want := map[string]bool{} // what the destination must hold, whole
			for off := 0; ; off++ {
				m := fmt.Appendf(nil, "Subject: cut %d\r\n\r\n.b\r\nend\r\n", off)
				wire := len("+OK\r\n") + len(m) + 1 + len(".\r\n") // one line is dot-stuffed
				if off > wire+1 {
					break
				}
				r.pop3.Add(r.World.MSUser, m)
				r.pop3.DropAt(1, off)
				code, log := r.run(task)
				if code != 1 {
					t.Fatalf("cut at byte %d of %d: the pass did not fail (exit %d)\n%s", off, wire, code, log)
				}
				if n := len(r.pop3.Messages(r.World.MSUser)); n != 1 {
					t.Fatalf("cut at byte %d of %d: %d messages on the server, want the one not yet done", off, wire, n)
				}
				checkWhole(t, out, want, lf(m), fmt.Sprintf("after the cut at byte %d of %d", off, wire))
				r.pop3.ClearFaults()
				if code, log := r.run(task); code != 0 {
					t.Fatalf("after the cut at byte %d: exit %d\n%s", off, code, log)
				}
				if n := len(r.pop3.Messages(r.World.MSUser)); n != 0 {
					t.Fatalf("after the cut at byte %d: %d messages left on the server", off, n)
				}
				want[lf(m)] = true
				checkWhole(t, out, want, "", fmt.Sprintf("once the server recovered from the cut at byte %d of %d", off, wire))
			}
		})
	}
}

// checkWhole fails unless dir holds each message of want exactly once and
// nothing else, except perhaps one copy of maybe (whole).
func checkWhole(t *testing.T, dir string, want map[string]bool, maybe, when string) {
	t.Helper()
	seen := map[string]int{}
	for _, m := range maildir(t, dir) {
		seen[m]++
		switch {
		case seen[m] > 1:
			t.Fatalf("%s: a message delivered twice: %q", when, m)
		case !want[m] && m != maybe:
			t.Fatalf("%s: delivered %q, which is not a whole message (want one of %d, or %q)", when, m, len(want), maybe)
		}
	}
	for m := range want {
		if seen[m] == 0 {
			t.Fatalf("%s: %q was never delivered", when, strings.TrimSpace(m))
		}
	}
}
