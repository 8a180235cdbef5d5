package mailout

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/sandbox/gmaild"
)

// childEnv makes the test binary run batchmail (Main) instead of the
// tests, so that tests can run, kill and restart it as a real process.
// With hwmEnv set to a file name, the child writes its peak RSS there
// before it exits.
const (
	childEnv = "MAILOUT_TEST_BATCHMAIL"
	hwmEnv   = "MAILOUT_TEST_HWM_FILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		ctx, stop := cmdline.SignalContext()
		code := Program.Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		if path := os.Getenv(hwmEnv); path != "" {
			writeHWM(path)
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// writeHWM copies the VmHWM line of /proc/self/status — the process's own
// peak RSS — to path. (ru_maxrss will not do: Go starts children with
// vfork, and Linux counts the parent's peak into the child's ru_maxrss
// at exec.)
func writeHWM(path string) {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if strings.HasPrefix(line, "VmHWM:") {
			os.WriteFile(path, []byte(line), 0o600)
		}
	}
}

// batchmailProcess runs batchmail with args as a child process; its
// standard error goes to log.
func batchmailProcess(t testing.TB, log *logBuffer, args ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1")
	cmd.Stderr = log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return cmd
}

var messageID = regexp.MustCompile(`(?m)^Message-ID: <([^>]+)>`)

// TestSurvivesSIGKILL is the durability proof: batchmail, a real process,
// sends 500 queued messages to the sandbox server (SMTP, Graph's
// sendMail, the Gmail API) and is killed with SIGKILL at random moments,
// and restarted, 10 times; then it finishes. Every message reaches the
// server at least once, with at most one duplicate per kill; none is
// lost, none is failed, and the spool holds every message in sent/ and
// nothing else.
func TestSurvivesSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("runs batchmail 11 times")
	}
	for _, proto := range []string{"SMTP", "GRAPH", "GMAIL_API"} {
		t.Run(proto, func(t *testing.T) { survivesSIGKILL(t, proto) })
	}
}

func survivesSIGKILL(t *testing.T, proto string) {
	const messages, kills = 500, 10
	var spool *Spool
	var conf string
	var received func() [][]byte
	switch proto {
	case "SMTP":
		r := newRig(t, rigOptions{})
		spool = queueNumbered(t, r.World.MSUser, messages, "durable")
		conf = r.conf(t, spool.Dir, "MAIL_MAX_PER_CONNECTION = 40\nMAIL_POLL_INTERVAL = 100ms\n")
		received = func() (out [][]byte) {
			for _, m := range r.smtp.Received() {
				out = append(out, m.Raw)
			}
			return out
		}
	case "GRAPH":
		g := newGraphRig(t, "MAIL_POLL_INTERVAL = 100ms\n")
		spool, conf = g.spool, g.conf
		fill(t, spool, g.World.MSUser, messages, "durable")
		received = func() (out [][]byte) {
			for _, m := range g.Graph.Sent() {
				out = append(out, m.Raw)
			}
			return out
		}
	case "GMAIL_API":
		// Gmail's per-user quota (15,000 units a minute, 100 a send)
		// would hold the 500 back for minutes: the worker waits as it
		// should (TestGmailAPISend), but here the kills are the point.
		g := newGmailRig(t, "MAIL_POLL_INTERVAL = 100ms\n", func(o *gmaild.Options) { o.UserQuota = 1 << 30 })
		spool, conf = g.spool, g.conf
		fill(t, spool, g.World.GoogleUser, messages, "durable")
		received = func() (out [][]byte) {
			for _, m := range g.GmailAPI.Sent() {
				out = append(out, m.Raw)
			}
			return out
		}
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 0))
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()

	var log logBuffer
	for k := range kills {
		cmd := batchmailProcess(t, &log, "-conf", conf)
		// Kill it while it sends: after the server got one more message,
		// plus a random moment.
		before := len(received())
		for len(received()) <= before {
			if ctx.Err() != nil {
				t.Fatalf("run %d sent nothing\n%s", k+1, log.String())
			}
			time.Sleep(2 * time.Millisecond)
		}
		time.Sleep(time.Duration(rng.IntN(40)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	t.Logf("%d of %d messages reached the server before the last kill", len(received()), messages)

	cmd := batchmailProcess(t, &log, "-conf", conf, "-once")
	if err := cmd.Wait(); err != nil {
		t.Fatalf("the final run: %v\n%s", err, log.String())
	}

	copies := map[string]int{}
	for _, raw := range received() {
		id := messageID.FindSubmatch(raw)
		if id == nil {
			t.Fatalf("a message without Message-ID: %q", raw)
		}
		copies[string(id[1])]++
	}
	duplicates := 0
	for i := range messages {
		id := fmt.Sprintf("durable-%03d@test", i)
		switch n := copies[id]; {
		case n == 0:
			t.Errorf("%s never reached the server", id)
		case n > 1:
			duplicates += n - 1
		}
	}
	t.Logf("%d duplicates after %d kills", duplicates, kills)
	if duplicates > kills {
		t.Errorf("%d duplicates after %d kills: more than one per kill", duplicates, kills)
	}
	if n := len(files(t, spool, DirSent)); n != messages {
		t.Errorf("%d messages in sent/, want %d", n, messages)
	}
	if left := files(t, spool, DirNew); len(left) != 0 {
		t.Errorf("left in new/: %v", left)
	}
	if failed := files(t, spool, DirFailed); len(failed) != 0 {
		t.Errorf("failed/: %v", failed)
	}
}

// SIGTERM stops a running batchmail cleanly: exit 0, and every message is
// either still queued or sent — never both, never elsewhere.
func TestSIGTERMStopsCleanly(t *testing.T) {
	if testing.Short() {
		t.Skip("runs batchmail as a process")
	}
	const messages = 200
	r := newRig(t, rigOptions{})
	spool := queueNumbered(t, r.World.MSUser, messages, "term")
	conf := r.conf(t, spool.Dir, "")
	var log logBuffer
	cmd := batchmailProcess(t, &log, "-conf", conf)
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if _, err := r.smtp.WaitReceived(ctx, 5); err != nil {
		t.Fatalf("%v\n%s", err, log.String())
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("exit: %v\n%s", err, log.String())
		}
	case <-time.After(testTimeout):
		t.Fatalf("batchmail did not stop on SIGTERM\n%s", log.String())
	}
	if !strings.Contains(log.String(), "msg=stopped") {
		t.Errorf("no stop line:\n%s", log.String())
	}
	queued, sent := files(t, spool, DirNew), files(t, spool, DirSent)
	if len(queued)+len(sent) != messages {
		t.Fatalf("%d queued + %d sent, want %d", len(queued), len(sent), messages)
	}
	for _, f := range queued {
		if strings.HasPrefix(f, ".") {
			t.Errorf("state file %s after a clean stop", f)
		}
	}
	if got := len(r.smtp.Received()); got < len(sent) || got > len(sent)+1 {
		t.Errorf("the server got %d messages, %d are in sent/", got, len(sent))
	}
}

// queueNumbered makes a spool holding n messages to one recipient, with
// subjects "<what> 000", "<what> 001" ….
func queueNumbered(t *testing.T, from string, n int, what string) *Spool {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "outbox")
	spool, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	fill(t, spool, from, n, what)
	return spool
}

// fill queues n messages from from, numbered what-000@test on.
func fill(t *testing.T, spool *Spool, from string, n int, what string) {
	t.Helper()
	for i := range n {
		queue(t, spool, fmt.Sprintf("m%03d", i), testMessage(from, "a@example.net", fmt.Sprintf("%s %03d", what, i), "x"))
	}
}
