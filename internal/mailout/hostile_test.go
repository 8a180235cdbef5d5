package mailout

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/hostile"
)

// childRun is how a batchmail process ended.
type childRun struct {
	code   int
	log    string
	peak   float64 // MB (MiB), VmHWM; 0 if the system does not say
	took   time.Duration
	killed bool // still running at the deadline
}

// runBatchmail runs batchmail with args as its own process, killing it
// after limit, and reads its peak RSS.
func runBatchmail(tb testing.TB, limit time.Duration, args ...string) childRun {
	tb.Helper()
	hwm := filepath.Join(tb.TempDir(), "hwm")
	var log logBuffer
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", hwmEnv+"="+hwm)
	cmd.Stderr = &log
	start := time.Now()
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	timer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	err := cmd.Wait()
	run := childRun{took: time.Since(start), killed: !timer.Stop(), log: log.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.code = exit.ExitCode()
	case err != nil:
		tb.Fatal(err)
	}
	if line, err := os.ReadFile(hwm); err == nil {
		var kb float64
		if _, err := fmt.Sscanf(strings.TrimSpace(strings.TrimPrefix(string(line), "VmHWM:")), "%f kB", &kb); err != nil {
			tb.Fatalf("parse %q: %v", line, err)
		}
		run.peak = kb / 1024
	}
	return run
}

// hostileSMTP is an SMTP server on loopback that greets with greeting,
// answers EHLO with ehlo and hangs up at any other command. Both write
// what they like, as much as they like, until a write fails.
func hostileSMTP(t *testing.T, greeting, ehlo func(w *bufio.Writer)) string {
	t.Helper()
	return hostile.Listen(t, nil, func(c *hostile.Conn) {
		w := c.Writer()
		greeting(w)
		for w.Flush() == nil {
			line, err := c.ReadLine()
			if err != nil || !strings.HasPrefix(strings.ToUpper(line), "EHLO") {
				return
			}
			ehlo(w)
		}
	}).Addr()
}

// TestEndlessRepliesMemory runs batchmail as a process against SMTP
// servers that send endless lines or replies: the pass fails with a clear
// error, in bounded memory and time, and the message stays queued.
func TestEndlessRepliesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs batchmail against servers that send 100s of MB")
	}
	bound := 64.0
	if raceEnabled {
		bound = 256 // the race detector's shadow memory
	}
	cases := []struct {
		name           string
		greeting, ehlo func(w *bufio.Writer)
	}{
		{"greeting of 300 MB without CRLF", func(w *bufio.Writer) {
			w.WriteString("220 ")
			chunk := strings.Repeat("x", 64<<10)
			for range (300 << 20) / len(chunk) {
				if _, err := w.WriteString(chunk); err != nil {
					return
				}
			}
		}, nil},
		{"EHLO of 2 million 250- lines", func(w *bufio.Writer) { w.WriteString("220 ready\r\n") }, func(w *bufio.Writer) {
			for i := range 2_000_000 {
				if _, err := fmt.Fprintf(w, "250-X-EXTENSION-%d\r\n", i); err != nil {
					return
				}
			}
			w.WriteString("250 OK\r\n")
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := hostileSMTP(t, tc.greeting, tc.ehlo)
			host, port, _ := net.SplitHostPort(addr)
			spoolDir := filepath.Join(t.TempDir(), "outbox")
			spool, err := OpenSpool(spoolDir)
			if err != nil {
				t.Fatal(err)
			}
			queue(t, spool, "m1", testMessage("a@example.com", "b@example.net", "queued", "x"))
			conf := filepath.Join(t.TempDir(), "batchmail.properties")
			os.WriteFile(conf, fmt.Appendf(nil, "TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nMAIL_HOST = %s\nMAIL_PORT = %s\n"+
				"MAIL_SECURITY = NONE\nMAIL_USER = a@example.com\nMAIL_AUTH_TYPE = PASSWORD\nMAIL_PASSWORD = secret-password\nMAIL_SPOOL_DIR = %s\n",
				filepath.Join(t.TempDir(), "tokens.db"), filepath.Join(t.TempDir(), "tokens.key"), host, port, spoolDir), 0o600)
			run := runBatchmail(t, 2*time.Minute, "-conf", conf, "-once")
			t.Logf("%s: exit %d after %v, peak RSS %.1f MiB", tc.name, run.code, run.took.Round(time.Millisecond), run.peak)
			if run.killed || run.code != 1 {
				t.Fatalf("batchmail: killed %v, exit %d, want a failed pass within the timeouts\n%s", run.killed, run.code, run.log)
			}
			if !strings.Contains(run.log, "more than any reply needs") {
				t.Errorf("no clear error in the log:\n%s", run.log)
			}
			if got := files(t, spool, DirNew); len(got) != 1 || got[0] != "m1" {
				t.Errorf("new/ holds %v, want the message still queued", got)
			}
			if run.peak == 0 {
				t.Skip("no VmHWM from the process (not Linux?)")
			}
			if run.peak > bound {
				t.Errorf("peak RSS %.1f MiB, want under %.0f MiB", run.peak, bound)
			}
		})
	}
}
