package mailin

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailtokens/internal/sandbox/hostile"
	"mailtokens/internal/sandbox/sandboxtest"
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

// imapPrologue is a hostile IMAP server's conversation up to a selected
// INBOX holding exists messages, UIDVALIDITY 7 and the given UIDNEXT.
func imapPrologue(exists, uidNext int) []hostile.Step {
	return []hostile.Step{
		{Send: "* OK [CAPABILITY IMAP4rev1 UIDPLUS] hostile ready\r\n"},
		{Expect: `^\S+ LOGIN `, Send: "$tag OK [CAPABILITY IMAP4rev1 UIDPLUS] logged in\r\n"},
		{Expect: `^\S+ SELECT `, Send: fmt.Sprintf("* %d EXISTS\r\n* OK [UIDVALIDITY 7] ok\r\n* OK [UIDNEXT %d] ok\r\n$tag OK [READ-WRITE] selected\r\n", exists, uidNext)},
	}
}

// hostileTask writes a task file for receiving from s in clear with a
// password login.
func (r *rig) hostileTask(name string, s *hostile.Server, keys map[string]string) string {
	base := map[string]string{"MAILBOX_HOST": hostOf(s.Addr()), "MAILBOX_PORT": portOf(s.Addr()), "MAILBOX_SECURITY": "NONE",
		"MAILBOX_AUTH_TYPE": "PASSWORD", "MAILBOX_PASSWORD": "pw", "MAILBOX_EMAIL_TOKEN_NAME": "", "MAILBOX_TLS_CA_FILE": "", "LOG_LEVEL": "INFO",
		// No size check: the scripts answer the body's FETCH only.
		"MAILBOX_MAX_MESSAGE_SIZE": "0"}
	for k, v := range keys {
		base[k] = v
	}
	return r.task(name, base)
}

// boundedEvmail runs evmail -once as its own process and fails the test
// if it runs longer than d or its resident memory passes maxMB (four times
// that under the race detector); it returns the exit code and the log.
func boundedEvmail(t *testing.T, task string, d time.Duration, maxMB int) (int, string) {
	t.Helper()
	if raceEnabled {
		maxMB *= 4
	}
	logFile, err := os.CreateTemp(t.TempDir(), "evmail-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	start := time.Now()
	cmd := evmailProcess(t, logFile, "-conf", task, "-once")
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	fail := func(format string, args ...any) {
		cmd.Process.Kill()
		<-exited
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf(format+"\n%s", append(args, tail(string(log), 3000))...)
	}
	// Memory has no event to wait for: look at it often.
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(d)
	for {
		select {
		case <-exited:
			log, _ := os.ReadFile(logFile.Name())
			if m := regexp.MustCompile(`PEAK_RSS=(\d+)`).FindSubmatch(log); m != nil {
				kb, _ := strconv.Atoi(string(m[1]))
				if kb > maxMB<<10 {
					t.Fatalf("evmail's peak RSS was %d MiB, over %d MiB\n%s", kb>>10, maxMB, tail(string(log), 3000))
				}
				t.Logf("evmail ended in %v; peak RSS %d MiB", time.Since(start).Round(time.Millisecond), kb>>10)
			}
			return cmd.ProcessState.ExitCode(), string(log)
		case <-timeout:
			fail("evmail still running after %v", d)
		case <-tick.C:
			if kb := rssKB(cmd.Process.Pid); kb > maxMB<<10 {
				fail("evmail's RSS reached %d MiB after %v (limit %d MiB)", kb>>10, time.Since(start).Round(time.Millisecond), maxMB)
			}
		}
	}
}

// rssKB is a process's resident set size (0 if unknown).
func rssKB(pid int) int {
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return kb
		}
	}
	return 0
}

// TestIMAPHugeSearchReply: a SEARCH answer naming UIDs up to 2^32-1, or an
// ESEARCH range of four billion, is walked within what the folder can
// hold (EXISTS, UIDNEXT), never expanded: evmail ends at once, in little
// memory, and asks for the UIDs that can exist.
func TestIMAPHugeSearchReply(t *testing.T) {
	for _, c := range []struct{ name, reply string }{
		{"SEARCH", "* SEARCH 1 2 3 77 4294967295\r\n"},
		{"ESEARCH", "* ESEARCH (TAG \"$tag\") UID ALL 1:4000000000\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			fetched := make(chan string, 1)
			s := hostile.Listen(t, nil, func(conn *hostile.Conn) {
				if conn.Run(append(imapPrologue(3, 78), hostile.Step{Expect: `^\S+ UID SEARCH `, Send: c.reply + "$tag OK done\r\n"})...) != nil {
					return
				}
				line, _ := conn.ReadLine()
				select {
				case fetched <- line:
				default:
				}
			})
			code, log := boundedEvmail(t, r.hostileTask("search", s, nil), 20*time.Second, 64)
			if code != 1 {
				t.Fatalf("exit %d, want 1 (the server hung up at FETCH)\n%s", code, log)
			}
			if line := <-fetched; !regexp.MustCompile(`^\S+ UID FETCH 1 `).MatchString(line) {
				t.Fatalf("evmail then sent %q, want a UID FETCH of UID 1", line)
			}
		})
	}
}

// TestIMAPMessageVanishes: a message that disappears between SEARCH and
// FETCH (another client expunged it, as a person deleting mail in Outlook
// does) is logged and skipped; the others are delivered, and no reply
// crashes the worker.
func TestIMAPMessageVanishes(t *testing.T) {
	t.Run("BODY[] NIL", func(t *testing.T) {
		r := newRig(t)
		m := message(2, "still here")
		s := hostile.Listen(t, nil, hostile.Script(append(imapPrologue(2, 3),
			hostile.Step{Expect: `^\S+ UID SEARCH `, Send: "* SEARCH 1 2\r\n$tag OK done\r\n"},
			hostile.Step{Expect: `^\S+ UID FETCH 1 `, Send: "* 1 FETCH (UID 1 BODY[] NIL)\r\n$tag OK done\r\n"},
			hostile.Step{Expect: `^\S+ UID FETCH 2 `, Send: fmt.Sprintf("* 2 FETCH (UID 2 BODY[] {%d}\r\n%s)\r\n$tag OK done\r\n", len(m), m)},
			hostile.Step{Expect: `^\S+ UID STORE 2 `, Send: "$tag OK stored\r\n"},
			hostile.Step{Expect: `^\S+ LOGOUT`, Send: "* BYE\r\n$tag OK bye\r\n"},
		)...))
		code, log := boundedEvmail(t, r.hostileTask("nil", s, nil), 20*time.Second, 256)
		if code != 0 || !strings.Contains(log, "UID 1") || !strings.Contains(log, "gone") {
			t.Fatalf("exit %d, want 0 with UID 1 logged as gone\n%s", code, log)
		}
		if got := maildir(t, filepath.Join(r.Dir, "inbox")); len(got) != 1 || got[0] != lf(m) {
			t.Fatalf("delivered %q, want UID 2 only", got)
		}
	})
	t.Run("expunged by another client", func(t *testing.T) {
		r := newRig(t)
		r.imap.AddMailbox(sandboxtest.Clerk)
		gone := message(1, "deleted in Outlook")
		kept := message(2, "kept")
		r.imap.Append(sandboxtest.Clerk, "INBOX", gone)
		r.imap.Append(sandboxtest.Clerk, "INBOX", kept)
		s := hostile.Listen(t, nil, func(c *hostile.Conn) {
			c.Proxy(r.imapP, hostile.Fault{After: `^\S+ UID FETCH 1 `, Do: func() { r.expunge(sandboxtest.Clerk, 1) }})
		})
		code, log := boundedEvmail(t, r.hostileTask("expunged", s, map[string]string{"MAILBOX_USER": sandboxtest.Clerk, "MAILBOX_PASSWORD": sandboxtest.ClerkPassword}), 20*time.Second, 256)
		if code != 0 || !strings.Contains(log, "gone") {
			t.Fatalf("exit %d, want 0 with UID 1 logged as gone\n%s", code, log)
		}
		if got := maildir(t, filepath.Join(r.Dir, "inbox")); len(got) != 1 || got[0] != lf(kept) {
			t.Fatalf("delivered %q, want UID 2 only", got)
		}
	})
}

// expunge deletes a message as another client would.
func (r *rig) expunge(mailbox string, uid imap.UID) {
	c, err := imapclient.DialInsecure(r.imapP, nil)
	if err != nil {
		r.t.Error(err)
		return
	}
	defer c.Close()
	if err := c.Login(mailbox, sandboxtest.ClerkPassword).Wait(); err != nil {
		r.t.Error(err)
		return
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		r.t.Error(err)
		return
	}
	set := imap.UIDSetNum(uid)
	if err := c.Store(set, &imap.StoreFlags{Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagDeleted}, Silent: true}, nil).Close(); err != nil {
		r.t.Error(err)
	}
	if err := c.UIDExpunge(set).Close(); err != nil {
		r.t.Error(err)
	}
	c.Logout().Wait()
}

type closeCounter int

func (c *closeCounter) Close() error { *c++; return nil }

// TestSafely: a panic while receiving one message closes the connection
// and becomes that message's error; the worker goes on.
func TestSafely(t *testing.T) {
	var c closeCounter
	var log strings.Builder
	err := safely(&c, slog.New(slog.NewTextHandler(&log, nil)), "receiving UID 9", func() error {
		var body *fetchReader
		_, err := body.Read(nil)
		return err
	})
	if err == nil || !strings.Contains(err.Error(), "UID 9") || c != 1 || !strings.Contains(log.String(), "crashed") {
		t.Fatalf("err %v, %d closes, log %s", err, c, log.String())
	}
	if err := safely(&c, slog.New(slog.DiscardHandler), "x", func() error { return nil }); err != nil || c != 1 {
		t.Fatalf("without a panic: %v, %d closes", err, c)
	}
}

// shortSilence makes evmail give up on a silent server after d, for the
// test.
func shortSilence(t *testing.T, d time.Duration) {
	saved := silence
	silence.login, silence.op = d, d
	t.Cleanup(func() { silence = saved })
}

// TestIMAPSilentServer: a server that stops answering — at LOGIN, or after
// SELECT — costs evmail -once one timeout: the first one closes the
// connection (go-imap clears read deadlines after every reply, and reads
// again after a timeout).
func TestIMAPSilentServer(t *testing.T) {
	const timeout = time.Second
	for _, c := range []struct {
		name  string
		steps []hostile.Step
	}{
		{"at LOGIN", []hostile.Step{imapPrologue(0, 0)[0], {Expect: `^\S+ LOGIN `}}},
		{"after SELECT", append(imapPrologue(1, 2), hostile.Step{Expect: `^\S+ UID SEARCH `})},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			shortSilence(t, timeout)
			silentFor := make(chan time.Duration, 1)
			s := hostile.Listen(t, nil, func(conn *hostile.Conn) {
				if conn.Run(c.steps...) != nil {
					return
				}
				start := time.Now()
				conn.Stall()
				silentFor <- time.Since(start)
			})
			done := make(chan struct{})
			var code int
			var log string
			go func() {
				code, log = r.run(r.hostileTask("silent", s, nil))
				close(done)
			}()
			select {
			case <-done:
			case <-time.After(20 * time.Second):
				s.Close()
				<-done
				t.Fatalf("evmail -once still waiting on a silent server after 20 s (timeout %v)\n%s", timeout, log)
			}
			if code != 1 {
				t.Fatalf("exit %d, want 1\n%s", code, log)
			}
			// One timeout, and some room for a loaded machine: well short
			// of two.
			if d := <-silentFor; d > timeout*17/10 {
				t.Fatalf("evmail waited %v on the silent server, want one timeout (%v)\n%s", d, timeout, log)
			}
			if !strings.Contains(log, "sent nothing for 1s") {
				t.Fatalf("the log should say the server was silent:\n%s", log)
			}
		})
	}
}

// TestIMAPSilentServerIsRetried: evmail (not -once) gives up on a server
// that goes silent after SELECT, logs it, and receives at the next try.
func TestIMAPSilentServerIsRetried(t *testing.T) {
	r := newRig(t)
	shortSilence(t, time.Second)
	r.imap.AddMailbox(sandboxtest.Clerk)
	r.imap.Append(sandboxtest.Clerk, "INBOX", message(1, "after a silence"))
	var first atomic.Bool
	s := hostile.Listen(t, nil, func(c *hostile.Conn) {
		if first.CompareAndSwap(false, true) {
			c.Run(append(imapPrologue(1, 2), hostile.Step{Expect: `^\S+ UID SEARCH `, Stall: true})...)
			return
		}
		c.Proxy(r.imapP)
	})
	log := r.start(r.hostileTask("retry", s, map[string]string{"MAILBOX_USER": sandboxtest.Clerk, "MAILBOX_PASSWORD": sandboxtest.ClerkPassword}))
	waitFor(t, "delivery after the silent server", func() bool { return len(maildir(t, filepath.Join(r.Dir, "inbox"))) == 1 })
	if !strings.Contains(log.String(), "receiving failed") || !strings.Contains(log.String(), "sent nothing for 1s") {
		t.Fatalf("the silence should be logged:\n%s", log)
	}
}

// TestIMAPEndlessLines: 300 MB without a line end — as the greeting, or as
// the reply to SELECT — fails the connection with a clear error; evmail,
// run as its own process, keeps its peak RSS under 64 MiB.
func TestIMAPEndlessLines(t *testing.T) {
	chunk := strings.Repeat("x", 64<<10)
	endless := hostile.Step{Send: chunk, Repeat: 300 << 20 / len(chunk)}
	for _, c := range []struct {
		name  string
		steps []hostile.Step
	}{
		{"greeting", []hostile.Step{{Send: "* OK "}, endless}},
		{"SELECT reply", []hostile.Step{imapPrologue(0, 0)[0], imapPrologue(0, 0)[1],
			{Expect: `^\S+ SELECT `, Send: "$tag OK [READ-WRITE] "}, endless}},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t)
			s := hostile.Listen(t, nil, hostile.Script(c.steps...))
			code, log := boundedEvmail(t, r.hostileTask("endless", s, nil), 20*time.Second, 64)
			if code != 1 || !strings.Contains(log, "longer than") {
				t.Fatalf("exit %d, want 1 and a word about the reply's length\n%s", code, log)
			}
		})
	}
}
