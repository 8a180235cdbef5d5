package mailout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
)

// waitFor polls cond until it holds or testTimeout passes.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	deadline := time.After(testTimeout)
	for !cond() {
		select {
		case <-deadline:
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// waitLog waits until the log holds n lines with what.
func waitLog(t *testing.T, log *logBuffer, what string, n int) {
	t.Helper()
	defer func() {
		if t.Failed() {
			t.Log(log.String())
		}
	}()
	waitFor(t, fmt.Sprintf("%d × %q in the log", n, what), func() bool { return strings.Count(log.String(), what) >= n })
}

// queueTo puts messages from..to-1 into the spool at dir, each with its
// own Message-ID ("reload-N@test").
func queueTo(t *testing.T, r *rig, dir string, from, to int) {
	t.Helper()
	spool, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	for i := from; i < to; i++ {
		queue(t, spool, fmt.Sprintf("m%03d", i), testMessage(r.World.MSUser, "a@example.net", fmt.Sprintf("reload %d", i), "x"))
	}
}

// receivedOnce waits for n messages at the server and fails unless each
// arrived once.
func receivedOnce(t *testing.T, r *rig, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	got, err := r.smtp.WaitReceived(ctx, n)
	if err != nil {
		t.Fatalf("%d of %d messages arrived: %v", len(r.smtp.Received()), n, err)
	}
	copies := map[string]int{}
	for _, m := range got {
		copies[string(messageID.FindSubmatch(m.Raw)[1])]++
	}
	if len(got) != n || len(copies) != n {
		t.Fatalf("%d messages, %d different, want %d once each: %v", len(got), len(copies), n, copies)
	}
}

// startReloadable runs batchmail in this process until the test ends, with
// a channel that stands for SIGHUP.
func startReloadable(t *testing.T, conf string) (*logBuffer, chan<- os.Signal) {
	log := &logBuffer{}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(cmdline.WithHangups(context.Background(), hup))
	done := make(chan int, 1)
	go func() { done <- Program.Run(ctx, []string{"-conf", conf}, strings.NewReader(""), &logBuffer{}, log) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("batchmail exited %d after a SIGTERM-like stop\n%s", code, log.String())
		}
	})
	return log, hup
}

// TestReloadUnchanged: a SIGHUP to a real batchmail process whose file
// did not change does not kill it (exit 129 before) nor restart it: it
// says so and keeps sending, and stops cleanly on SIGTERM.
func TestReloadUnchanged(t *testing.T) {
	r := newRig(t, rigOptions{})
	dir := filepath.Join(t.TempDir(), "outbox")
	queueTo(t, r, dir, 0, 1)
	conf := r.conf(t, dir, "MAIL_POLL_INTERVAL = 100ms\n")
	var log logBuffer
	cmd := batchmailProcess(t, &log, "-conf", conf)
	receivedOnce(t, r, 1)

	cmd.Process.Signal(syscall.SIGHUP)
	waitLog(t, &log, "reloaded: no change", 1)
	queueTo(t, r, dir, 1, 3)
	receivedOnce(t, r, 3)
	if n := strings.Count(log.String(), "msg=sending"); n != 1 {
		t.Fatalf("started %d times, want once: an unchanged file restarted the task\n%s", n, log.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	if err := cmd.Wait(); err != nil {
		t.Fatalf("batchmail: %v\n%s", err, log.String())
	}
}

// TestReloadPollInterval: an edited poll interval and SIGHUP: the sender
// restarts with it (mail queued later goes out at the new pace, not an
// hour later), and every message, including those queued while it
// restarted, is sent once.
func TestReloadPollInterval(t *testing.T) {
	r := newRig(t, rigOptions{})
	dir := filepath.Join(t.TempDir(), "outbox")
	queueTo(t, r, dir, 0, 5)
	conf := r.conf(t, dir, "MAIL_POLL_INTERVAL = 1h\n")
	log, hup := startReloadable(t, conf)
	receivedOnce(t, r, 5)
	waitLog(t, log, "msg=sending", 1)

	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(conf, []byte(strings.Replace(string(text), "MAIL_POLL_INTERVAL = 1h", "MAIL_POLL_INTERVAL = 100ms", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	queueTo(t, r, dir, 5, 15) // queued while the sender restarts
	hup <- syscall.SIGHUP
	waitLog(t, log, "msg=sending", 2)
	if !strings.Contains(log.String(), "changed=MAIL_POLL_INTERVAL") || !strings.Contains(log.String(), "poll_interval=100ms") {
		t.Fatalf("the restart does not say what changed:\n%s", log.String())
	}
	receivedOnce(t, r, 15)
	// Only the new interval sends these before the test's timeout.
	queueTo(t, r, dir, 15, 20)
	receivedOnce(t, r, 20)
	// A message leaves new/ once the server's 250 is in.
	waitFor(t, "an empty new/", func() bool { return len(files(t, &Spool{Dir: dir}, DirNew)) == 0 })
}

// TestReloadBrokenFile: a file that no longer validates is reported, each
// problem with file:line, and the sender keeps sending with the settings
// it has.
func TestReloadBrokenFile(t *testing.T) {
	r := newRig(t, rigOptions{})
	dir := filepath.Join(t.TempDir(), "outbox")
	queueTo(t, r, dir, 0, 1)
	conf := r.conf(t, dir, "MAIL_POLL_INTERVAL = 100ms\n")
	log, hup := startReloadable(t, conf)
	receivedOnce(t, r, 1)

	text, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	broken := regexp.MustCompile(`(?m)^MAIL_PORT = .*$`).ReplaceAllString(string(text), "MAIL_PORT = many") + "MAIL_RATE = 10\n"
	if err := os.WriteFile(conf, []byte(broken), 0o600); err != nil {
		t.Fatal(err)
	}
	hup <- syscall.SIGHUP
	waitLog(t, log, "reload refused", 2)
	for _, key := range []string{"MAIL_PORT", "MAIL_RATE"} {
		if !regexp.MustCompile(regexp.QuoteMeta(conf) + `:\d+: ` + key + `: `).MatchString(log.String()) {
			t.Fatalf("the problem with %s is not logged with file:line:\n%s", key, log.String())
		}
	}
	queueTo(t, r, dir, 1, 3)
	receivedOnce(t, r, 3)
	if n := strings.Count(log.String(), "msg=sending"); n != 1 {
		t.Fatalf("started %d times, want once\n%s", n, log.String())
	}
}
