package mailin

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/sandbox/hostile"
)

// cutProxy is a proxy in front of the rig's plain IMAP listener that cuts
// the reply to the next UID FETCH after cutAt bytes (-1: no cut), and
// counts the cuts it made.
type cutProxy struct {
	*hostile.Server
	cutAt atomic.Int64
	cuts  atomic.Int64
}

func (r *rig) cutProxy(tls bool) *cutProxy {
	p := &cutProxy{}
	p.cutAt.Store(-1)
	conf := r.Cert.ServerTLS()
	if !tls {
		conf = nil
	}
	p.Server = hostile.Listen(r.t, conf, func(c *hostile.Conn) {
		n := p.cutAt.Load()
		if n < 0 {
			c.Proxy(r.imapP)
			return
		}
		c.Proxy(r.imapP, hostile.Fault{After: `^\S+ UID FETCH `, CutAt: int(n), Cut: true, Do: func() { p.cuts.Add(1) }})
	})
	return p
}

// TestIMAPCutOffMessageSweep: the server announces a message, sends part
// of it and vanishes (plain TCP, or TLS without close_notify), at every
// byte offset of the reply to UID FETCH. Nothing partial is ever delivered,
// nothing is marked \Seen before it is delivered whole, and once the server
// behaves the message is delivered exactly once, whole.
func TestIMAPCutOffMessageSweep(t *testing.T) {
	for _, c := range []struct {
		name    string
		tls     bool
		command bool
	}{
		{"maildir over TLS", true, false},
		{"maildir in clear", false, false},
		{"command over TLS", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			p := r.cutProxy(c.tls)
			out := filepath.Join(r.Dir, "out")
			keys := map[string]string{"MAILBOX_HOST": hostOf(p.Addr()), "MAILBOX_PORT": portOf(p.Addr()), "LOG_LEVEL": "INFO"}
			if !c.tls {
				keys["MAILBOX_SECURITY"] = "NONE"
			}
			delivered := func() []string { return maildir(t, filepath.Join(r.Dir, "inbox")) }
			if c.command {
				// A program that honours "exit 0 means delivered": it
				// keeps the message only once its input ended cleanly.
				os.MkdirAll(out, 0o700)
				script := filepath.Join(r.Dir, "deliver.sh")
				os.WriteFile(script, []byte("#!/bin/sh\nf=\""+out+"/$$\"\ncat > \"$f.tmp\" && mv \"$f.tmp\" \"$f\"\n"), 0o700)
				keys["MAILBOX_DELIVER_TO"] = "command:" + script
				delivered = func() []string {
					var got []string
					entries, _ := os.ReadDir(out)
					for _, e := range entries {
						if !strings.HasSuffix(e.Name(), ".tmp") {
							b, _ := os.ReadFile(filepath.Join(out, e.Name()))
							got = append(got, string(b))
						}
					}
					return got
				}
			}
			task := r.task("cut", keys)
			body := "a short body\r\nin two lines"
			// The reply is "* n FETCH (UID n BODY[] {size}\r\n", the
			// message, ")\r\n" and the tagged OK: the sweep covers all of
			// it and the start of the tagged line.
			size := len(message(100, body)) + 48
			var want []string
			for k := range size {
				m := message(100+k, body)
				uid, err := r.imap.Append(r.World.MSUser, "INBOX", m)
				if err != nil {
					t.Fatal(err)
				}
				cuts := p.cuts.Load()
				p.cutAt.Store(int64(k))
				_, log := r.run(task)
				if p.cuts.Load() != cuts+1 {
					t.Fatalf("cut at %d: the proxy saw no UID FETCH\n%s", k, log)
				}
				got := delivered()
				for _, d := range got {
					if !slices.Contains(want, d) && d != lf(m) {
						t.Fatalf("cut at byte %d: a partial message was delivered (%d of %d bytes):\n%q\n%s", k, len(d), len(lf(m)), d, log)
					}
				}
				if seen(t, r, uid) && !slices.Contains(got, lf(m)) {
					t.Fatalf("cut at byte %d: marked \\Seen on the server but not delivered\n%s", k, log)
				}
				// The server behaves again.
				p.cutAt.Store(-1)
				if code, log := r.run(task); code != 0 {
					t.Fatalf("cut at byte %d, then a good server: exit %d\n%s", k, code, log)
				}
				want = append(want, lf(m))
				got = delivered()
				slices.Sort(got)
				sorted := slices.Sorted(slices.Values(want))
				if !slices.Equal(got, sorted) {
					t.Fatalf("cut at byte %d, then a good server: %d messages delivered, want %d, each once and whole", k, len(got), len(want))
				}
				if !seen(t, r, uid) {
					t.Fatalf("cut at byte %d, then a good server: not marked \\Seen", k)
				}
			}
		})
	}
}

// seen reports whether the message uid of the rig's INBOX is \Seen.
func seen(t *testing.T, r *rig, uid uint32) bool {
	t.Helper()
	msgs, err := r.imap.Messages(r.World.MSUser, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.UID == uid {
			return slices.Contains(m.Flags, imap.FlagSeen)
		}
	}
	t.Fatalf("UID %d is not on the server", uid)
	return false
}
