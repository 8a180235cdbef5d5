package mailin

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/tokenstore"
)

// waitFor polls cond until it holds or 20 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// start runs evmail (not -once) until the test ends.
func (r *rig) start(task string) *syncbuf.Buffer {
	log, _ := r.startReloadable(task)
	return log
}

// startReloadable is start with a channel that stands for SIGHUP.
func (r *rig) startReloadable(task string) (*syncbuf.Buffer, chan<- os.Signal) {
	log := &syncbuf.Buffer{}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(cmdline.WithHangups(context.Background(), hup))
	done := make(chan int, 1)
	go func() { done <- evmail(ctx, []string{"-conf", task}, log) }()
	r.t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				r.t.Errorf("evmail exited %d after SIGTERM-like stop", code)
			}
		case <-time.After(20 * time.Second):
			r.t.Error("evmail did not stop")
		}
	})
	return log, hup
}

// TestIdleDeliversNewMail: with IMAP IDLE, a message arriving while evmail
// waits is delivered without waiting for the poll interval.
func TestIdleDeliversNewMail(t *testing.T) {
	r := newRig(t)
	log := r.start(r.task("idle", map[string]string{"MAILBOX_POLL_INTERVAL": "10m"}))
	waitFor(t, "the first pass", func() bool { return strings.Contains(log.String(), "pass finished") })
	r.imap.Append(r.World.MSUser, "INBOX", message(1, "while idling"))
	waitFor(t, "delivery during IDLE", func() bool { return len(maildir(t, filepath.Join(r.Dir, "inbox"))) == 1 })
}

// TestWaitsForAuthorization: a token nobody authorized yet does not stop
// the worker; it says what to do, and receives once the admin has acted.
func TestWaitsForAuthorization(t *testing.T) {
	r := newRig(t)
	st := r.OpenStore(t)
	defer st.Close()
	ctx := context.Background()
	st.Create(ctx, tokens.Settings(r.IDP, r.World, "later", provider.Microsoft), tokenstore.ActorCLI)
	r.imap.Append(r.World.MSUser, "INBOX", message(1, "waiting"))
	log := r.start(r.task("later", map[string]string{"MAILBOX_EMAIL_TOKEN_NAME": "later"}))
	waitFor(t, "the worker to say what the admin must do", func() bool {
		return strings.Count(log.String(), "Get Email Token") >= 2
	})
	if n := len(maildir(t, filepath.Join(r.Dir, "inbox"))); n != 0 {
		t.Fatal("delivered without a token?")
	}
	// The admin clicks Get Email Token.
	if _, err := tokens.Authorize(ctx, st, r.IDP, r.World, "later", provider.Microsoft); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "delivery after authorization", func() bool { return len(maildir(t, filepath.Join(r.Dir, "inbox"))) == 1 })
}

// TestServerDownIsRetried: a server that is not there does not stop the
// worker: one line per attempt, saying when it retries, and what to check
// the first time only.
func TestServerDownIsRetried(t *testing.T) {
	r := newRig(t)
	l := reserve(t)
	task := r.task("down", map[string]string{"MAILBOX_HOST": hostOf(l), "MAILBOX_PORT": portOf(l), "MAILBOX_SECURITY": "NONE"})
	log := r.start(task)
	waitFor(t, "a logged connection failure", func() bool { return strings.Contains(log.String(), "cannot receive") })
	if !strings.Contains(log.String(), "retry_in=") || !strings.Contains(log.String(), "firewall") {
		t.Fatalf("the failure line should say when it retries and what to check:\n%s", log)
	}
	waitFor(t, "the retry", func() bool { return strings.Contains(log.String(), "still cannot receive") })
	if n := strings.Count(log.String(), "firewall"); n != 1 {
		t.Fatalf("the advice appears %d times, want once:\n%s", n, log)
	}
}

// TestSIGTERMDuringASilentRETR: evmail stops at once when told to, even
// while the server is not answering, and leaves nothing half-written; the
// message is delivered, once, at the next start.
func TestSIGTERMDuringASilentRETR(t *testing.T) {
	r := newRig(t)
	r.pop3.Add(r.World.MSUser, message(1, "held up"))
	r.pop3.HangOn("RETR")
	task := r.pop3Task("hang", nil)
	log := &syncbuf.Buffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- evmail(ctx, []string{"-conf", task}, log) }()
	st := r.OpenStore(t)
	defer st.Close()
	key := "pop3|" + strings.ToLower(strings.Join([]string{hostOf(r.pop3S), portOf(r.pop3S), r.World.MSUser, "INBOX"}, "|"))
	// The message is recorded pending just before its RETR goes out.
	waitFor(t, "the message to be on its way", func() bool {
		d, _ := NewLedger(st.DB()).Deliveries(context.Background(), key)
		return len(d) == 1
	})
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Fatalf("exit %d\n%s", code, log)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("evmail did not stop while the server was silent (it waited for the read timeout)")
	}
	inbox := filepath.Join(r.Dir, "inbox")
	for _, sub := range []string{"new", "tmp"} {
		if entries, _ := os.ReadDir(filepath.Join(inbox, sub)); len(entries) != 0 {
			t.Fatalf("%d files left in %s/", len(entries), sub)
		}
	}
	if n := len(r.pop3.Messages(r.World.MSUser)); n != 1 {
		t.Fatalf("%d messages on the server", n)
	}
	r.pop3.ClearFaults()
	if code, out := r.run(task); code != 0 || len(maildir(t, inbox)) != 1 {
		t.Fatalf("next start: %d\n%s", code, out)
	}
}

// An idle mailbox, looked at every poll interval, does not fill an INFO
// log (the demo's console showed a line every 5 s); a pass that did
// something, or failed, is still told.
func TestIdlePassIsNotNews(t *testing.T) {
	var out bytes.Buffer
	r := &Receiver{log: slog.New(slog.NewTextHandler(&out, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	r.summary(passStats{}, time.Millisecond, nil)
	if out.Len() != 0 {
		t.Errorf("an idle pass logged at INFO: %s", out.String())
	}
	r.summary(passStats{delivered: 1}, time.Millisecond, nil)
	r.summary(passStats{}, time.Millisecond, errors.New("connection reset"))
	if n := strings.Count(out.String(), "pass finished"); n != 2 {
		t.Errorf("%d pass lines, want 2:\n%s", n, out.String())
	}
}
