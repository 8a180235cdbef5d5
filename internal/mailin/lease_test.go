package mailin

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestOneReceiverPerMailbox: three evmail processes started on one task
// file (a unit started twice, a cron job beside the service) deliver each
// message exactly once: the mailbox's lease in the database lets one
// receive and the others wait, saying who holds it. Without the lease
// each message arrived three or four times.
func TestOneReceiverPerMailbox(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evmail processes")
	}
	for _, server := range []string{"IMAP", "POP3", "Dovecot IMAP"} {
		proto := strings.TrimPrefix(server, "Dovecot ")
		t.Run(server, func(t *testing.T) {
			r := newRig(t)
			const total = 30
			keys := map[string]string{"MAILBOX_AFTER_DELIVERY": "DELETE", "LOG_LEVEL": "INFO"}
			var task string
			left := func() int { return len(r.onServer(proto, r.imap, r.World.MSUser)) }
			switch server {
			case "Dovecot IMAP":
				dc := r.Dovecot(t)
				for i := range total {
					dc.Deliver(t, r.World.MSUser, message(i, fmt.Sprintf("message %d", i)))
				}
				keys["MAILBOX_HOST"], keys["MAILBOX_PORT"] = splitAddr(dc.IMAPSAddr)
				keys["MAILBOX_TLS_CA_FILE"] = dc.CAFile
				task = r.task("three", keys)
				left = func() int {
					// doveadm fails while evmail expunges under it: not empty yet.
					msgs, err := dc.Fetch(r.World.MSUser, "INBOX")
					if err != nil {
						return -1
					}
					return len(msgs)
				}
			case "POP3":
				for i := range total {
					r.pop3.Add(r.World.MSUser, message(i, fmt.Sprintf("message %d", i)))
				}
				task = r.pop3Task("three", keys)
			default:
				for i := range total {
					if _, err := r.imap.Append(r.World.MSUser, "INBOX", message(i, fmt.Sprintf("message %d", i))); err != nil {
						t.Fatal(err)
					}
				}
				task = r.task("three", keys)
			}
			var procs []*exec.Cmd
			var logs []string
			for i := range 3 {
				name := filepath.Join(r.Dir, fmt.Sprintf("evmail-%d.log", i))
				f, err := os.Create(name)
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				procs = append(procs, evmailProcess(t, f, "-conf", task))
				logs = append(logs, name)
			}
			stopped := false
			stop := func() {
				if stopped {
					return
				}
				stopped = true
				for _, p := range procs {
					p.Process.Signal(syscall.SIGTERM)
				}
				for _, p := range procs {
					p.Wait()
				}
			}
			defer stop()

			waiting := func() int {
				n := 0
				for _, name := range logs {
					data, _ := os.ReadFile(name)
					if strings.Contains(string(data), "is receiving this mailbox; waiting") {
						n++
					}
				}
				return n
			}
			// Once the server holds nothing, nothing more can be delivered.
			inbox := filepath.Join(r.Dir, "inbox")
			waitFor(t, "the mailbox to be emptied", func() bool { return left() == 0 })
			if proto == "IMAP" {
				// The receiver keeps the lease while it idles: the others,
				// once started, say that they wait. (Over POP3 the lease is
				// free between passes, and they may simply take turns.)
				waitFor(t, "an evmail to say it waits for another", func() bool { return waiting() > 0 })
			}
			stop()
			counts := deliveredCounts(t, inbox)
			for id, n := range counts {
				if n != 1 {
					t.Errorf("message %s delivered %d times", id, n)
				}
			}
			if len(counts) != total {
				t.Errorf("%d messages delivered, want %d", len(counts), total)
			}
		})
	}
}
