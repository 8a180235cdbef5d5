package mailin

import (
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/graphd"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/syncbuf"
)

// newGraphRig is the rig with the sandbox's Graph-like mail API over the
// same mailboxes, and a token "graph" for Graph's mail scope.
func newGraphRig(t testing.TB) *rig {
	t.Helper()
	return newRigWith(t, sandboxtest.Graph(),
		sandboxtest.AuthorizedFor("graph", provider.Microsoft, provider.MicrosoftGraphReadWriteScope))
}

// graphTask writes a task file receiving the world's mailbox through
// Graph, with keys on top.
func (r *rig) graphTask(name string, keys map[string]string) string {
	r.t.Helper()
	base := map[string]string{"MAILBOX_PROTOCOL": "GRAPH", "MAILBOX_GRAPH_URL": r.GraphURL + "/v1.0",
		"MAILBOX_EMAIL_TOKEN_NAME": "graph", "MAILBOX_HOST": "", "MAILBOX_PORT": "", "MAILBOX_SECURITY": "", "MAILBOX_FOLDER": "Inbox"}
	for k, v := range keys {
		base[k] = v
	}
	return r.task(name, base)
}

// TestGraphReceive: evmail with MAILBOX_PROTOCOL = GRAPH delivers every
// message of the folder once, byte for byte (LF line ends), moves each
// to Archive only after it is delivered, and later delivers only what is
// new; when Graph forgets the delta link it reads the folder again and
// the ledger recognises what it delivered.
func TestGraphReceive(t *testing.T) {
	r := newGraphRig(t)
	var want []string
	add := func(from, to int) {
		for i := from; i < to; i++ {
			m := message(i, fmt.Sprintf("graph %d\r\n.dot line\r\n%s\xe9\r\n", i, strings.Repeat("x", 900*i)))
			if _, err := r.imap.Append(r.World.MSUser, "INBOX", m); err != nil {
				t.Fatal(err)
			}
			want = append(want, lf(m))
		}
	}
	inbox := filepath.Join(r.Dir, "inbox")
	task := r.graphTask("graph", map[string]string{"MAILBOX_AFTER_DELIVERY": "MOVE", "MAILBOX_MOVE_TO": "Archive"})
	add(0, 12) // more than one delta page (the sandbox's default page is 10; evmail asks 50)
	code, log := r.run(task)
	if code != 0 || !strings.Contains(log, "protocol=GRAPH") || !strings.Contains(log, "delivered=12") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	got := maildir(t, inbox)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("delivered %d messages, want %d byte-exact", len(got), len(want))
	}
	if n := len(r.onServer("IMAP", r.imap, r.World.MSUser)); n != 0 {
		t.Fatalf("%d messages left in INBOX after MOVE", n)
	}
	archived, err := r.imap.Messages(r.World.MSUser, "Archive")
	if err != nil || len(archived) != 12 {
		t.Fatalf("%d messages in Archive (%v), want 12", len(archived), err)
	}

	add(12, 15)
	if code, log := r.run(task); code != 0 {
		t.Fatalf("second run: exit %d\n%s", code, log)
	}
	if counts := deliveredCounts(t, inbox); len(counts) != 15 {
		t.Fatalf("%d delivered after the second run, want 15", len(counts))
	}

	// SEEN keeps the messages in the folder; a forgotten delta link makes
	// evmail read the whole folder again, and deliver nothing twice.
	seen := r.graphTask("graph-seen", map[string]string{"MAILBOX_AFTER_DELIVERY": "SEEN", "MAILBOX_FOLDER": "Archive",
		"MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "archive")})
	if code, log := r.run(seen); code != 0 {
		t.Fatalf("SEEN run: exit %d\n%s", code, log)
	}
	r.Graph.ExpireDeltaTokens()
	code, log = r.run(seen)
	if code != 0 || !strings.Contains(log, "no longer knows the folder's delta link") {
		t.Fatalf("after the delta link expired: exit %d\n%s", code, log)
	}
	for id, n := range deliveredCounts(t, filepath.Join(r.Dir, "archive")) {
		if n != 1 {
			t.Fatalf("%s delivered %d times from Archive", id, n)
		}
	}
	if n := len(maildir(t, filepath.Join(r.Dir, "archive"))); n != 15 {
		t.Fatalf("%d delivered from Archive, want 15", n)
	}
	archived, _ = r.imap.Messages(r.World.MSUser, "Archive")
	for _, m := range archived {
		if !slices.Contains(m.Flags, imap.FlagSeen) {
			t.Fatalf("a message in Archive is not \\Seen after SEEN: %v", m.Flags)
		}
	}
}

// BenchmarkSandboxReceive2000 receives 2,000 messages of about 20 KB from
// the sandbox's Exchange-like mailbox into a Maildir with fsync (DELETE
// after delivery): over Graph (delta pages, one $value and one DELETE per
// message) and, beside it, over IMAP from the same server.
func BenchmarkSandboxReceive2000(b *testing.B) {
	for _, proto := range []string{"GRAPH", "IMAP"} {
		b.Run(proto, func(b *testing.B) {
			r := newGraphRig(b)
			msgs := make([][]byte, 2000)
			for i := range msgs {
				msgs[i] = sizedMessage(i, 20<<10)
			}
			n := 0
			var total time.Duration
			for b.Loop() {
				b.StopTimer()
				for _, m := range msgs {
					if _, err := r.imap.Append(r.World.MSUser, "INBOX", m); err != nil {
						b.Fatal(err)
					}
				}
				md := filepath.Join(r.Dir, fmt.Sprintf("inbox-%d", n))
				keys := map[string]string{"MAILBOX_AFTER_DELIVERY": "DELETE", "MAILBOX_DELIVER_TO": "maildir:" + md,
					"LOG_LEVEL": "WARN", "MAILBOX_FOLDER": "INBOX"}
				task := r.task(fmt.Sprintf("bench-%d", n), keys)
				if proto == "GRAPH" {
					task = r.graphTask(fmt.Sprintf("bench-%d", n), keys)
				}
				b.StartTimer()
				start := time.Now()
				if code, log := r.run(task); code != 0 {
					b.Fatalf("exit %d\n%s", code, log)
				}
				total += time.Since(start)
				b.StopTimer()
				if got := len(maildir(b, md)); got != len(msgs) {
					b.Fatalf("%d delivered", got)
				}
				n++
				b.StartTimer()
			}
			b.ReportMetric(float64(n*len(msgs))/total.Seconds(), "msgs/s")
		})
	}
}

// TestGraphFolderAskedOnce: a running evmail asks Graph for its folder's
// id once, not at every poll.
func TestGraphFolderAskedOnce(t *testing.T) {
	requests := &syncbuf.Buffer{}
	r := newRigWith(t, sandboxtest.Graph(func(o *graphd.Options) { o.Logger = slog.New(slog.NewTextHandler(requests, nil)) }),
		sandboxtest.AuthorizedFor("graph", provider.Microsoft, provider.MicrosoftGraphReadWriteScope))
	if _, err := r.imap.Append(r.World.MSUser, "Custom", message(1, "in a folder of its own")); err != nil {
		t.Fatal(err)
	}
	log, _ := r.startReloadable(r.graphTask("custom", map[string]string{"MAILBOX_FOLDER": "Custom", "MAILBOX_POLL_INTERVAL": "1s"}))
	waitFor(t, "three passes", func() bool { return strings.Count(log.String(), "pass finished") >= 3 })
	if n := strings.Count(requests.String(), "path=/v1.0/users/"+r.World.MSUser+"/mailFolders\n"); n != 1 {
		t.Fatalf("the folder was looked up %d times over three passes, want once\n%s", n, requests)
	}
}
