package mailin

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/hostile"
)

// hostilePOP3 is a POP3 server on loopback that logs anyone in (USER and
// PASS get +OK), greets with greeting, answers the commands in replies by
// their verb, and hangs up at any other command. The replies write what
// they like, as much as they like; a write error (the client has gone)
// ends them.
func hostilePOP3(t *testing.T, greeting func(w *bufio.Writer), replies map[string]func(w *bufio.Writer)) string {
	t.Helper()
	return hostile.Listen(t, nil, func(c *hostile.Conn) {
		w := c.Writer()
		greeting(w)
		for w.Flush() == nil {
			line, err := c.ReadLine()
			if err != nil {
				return
			}
			verb, _, _ := strings.Cut(strings.TrimSpace(line), " ")
			switch reply := replies[strings.ToUpper(verb)]; {
			case reply != nil:
				reply(w)
			case strings.EqualFold(verb, "USER") || strings.EqualFold(verb, "PASS"):
				w.WriteString("+OK\r\n")
			default:
				return
			}
		}
	}).Addr()
}

// say returns a script step that writes s.
func say(s string) func(w *bufio.Writer) { return func(w *bufio.Writer) { w.WriteString(s) } }

// endless writes prefix, then n bytes of x without a line end, then
// suffix.
func endless(prefix string, n int, suffix string) func(w *bufio.Writer) {
	return func(w *bufio.Writer) {
		w.WriteString(prefix)
		chunk := []byte(strings.Repeat("x", 64<<10))
		for ; n > 0; n -= len(chunk) {
			if _, err := w.Write(chunk[:min(n, len(chunk))]); err != nil {
				return
			}
		}
		w.WriteString(suffix)
	}
}

// hostileTask is a POP3 task for a hostile server at addr: PASSWORD login
// in clear (loopback), keys on top.
func (r *rig) pop3HostileTask(addr string, keys map[string]string) string {
	base := map[string]string{"MAILBOX_PROTOCOL": "POP3", "MAILBOX_HOST": hostOf(addr), "MAILBOX_PORT": portOf(addr),
		"MAILBOX_SECURITY": "NONE", "MAILBOX_AUTH_TYPE": "PASSWORD", "MAILBOX_PASSWORD": "secret-password",
		"MAILBOX_EMAIL_TOKEN_NAME": "", "MAILBOX_TLS_CA_FILE": ""}
	for k, v := range keys {
		base[k] = v
	}
	return r.task("hostile", base)
}

// manyUIDs answers UIDL with n entries, their ids made of prefix and the
// message number.
func manyUIDs(n int, prefix string) func(w *bufio.Writer) {
	return func(w *bufio.Writer) {
		w.WriteString("+OK\r\n")
		for i := 1; i <= n; i++ {
			if _, err := fmt.Fprintf(w, "%d %s%d\r\n", i, prefix, i); err != nil {
				return
			}
		}
		w.WriteString(".\r\n")
	}
}

// childRun is how an evmail process ended.
type childRun struct {
	code   int
	log    string
	peak   float64 // MiB, VmHWM; 0 if the system does not say
	took   time.Duration
	killed bool // still running at the deadline
}

// runEvmail runs evmail with args as its own process, killing it after
// limit.
func runEvmail(t testing.TB, limit time.Duration, args ...string) childRun {
	t.Helper()
	logFile, err := os.CreateTemp(t.TempDir(), "evmail-*.log")
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	start := time.Now()
	cmd := evmailProcess(t, logFile, args...)
	var run childRun
	timer := time.AfterFunc(limit, func() { cmd.Process.Kill() })
	err = cmd.Wait()
	run.took = time.Since(start)
	run.killed = !timer.Stop()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		run.code = exit.ExitCode()
	case err != nil:
		t.Fatal(err)
	}
	b, _ := os.ReadFile(logFile.Name())
	run.log = string(b)
	if m := regexp.MustCompile(`PEAK_RSS=(\d+)`).FindStringSubmatch(run.log); m != nil {
		kb, _ := strconv.Atoi(m[1])
		run.peak = float64(kb) / 1024
	}
	return run
}

// peakBound is the memory a worker may use whatever the server sends; the
// race detector's shadow memory multiplies what the program allocates.
func peakBound() float64 {
	if raceEnabled {
		return 256
	}
	return 64
}

// TestPOP3EndlessLinesMemory runs evmail as a process against POP3 servers
// that send endless lines or listings: it fails the connection with a clear
// error, in bounded memory and time.
func TestPOP3EndlessLinesMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evmail processes against servers that send 100s of MB")
	}
	const huge = 300 << 20
	cases := []struct {
		name     string
		greeting func(w *bufio.Writer)
		uidl     func(w *bufio.Writer)
	}{
		{"greeting of 300 MB without CRLF", endless("+OK ", huge, ""), nil},
		{"UIDL line of 300 MB", say("+OK ready\r\n"), endless("+OK\r\n1 ", huge, "\r\n.\r\n")},
		{"UIDL of 5 million entries", say("+OK ready\r\n"), manyUIDs(5_000_000, "")},
		{"UIDL of 5 million 70-character ids", say("+OK ready\r\n"), manyUIDs(5_000_000, strings.Repeat("u", 60))},
	}
	r := newRig(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			addr := hostilePOP3(t, tc.greeting, map[string]func(*bufio.Writer){"UIDL": tc.uidl})
			task := r.pop3HostileTask(addr, nil)
			run := runEvmail(t, 2*time.Minute, "-conf", task, "-once")
			t.Logf("%s: exit %d after %v, peak RSS %.1f MiB", tc.name, run.code, run.took.Round(time.Millisecond), run.peak)
			if run.killed || run.code != 1 {
				t.Fatalf("evmail: killed %v, exit %d, want a failed pass within the timeouts\n%s", run.killed, run.code, tail(run.log, 3000))
			}
			if run.peak == 0 {
				t.Skip("the peak RSS is read from /proc/self/status, which this system lacks")
			}
			if run.peak > peakBound() {
				t.Errorf("peak RSS %.1f MiB, want under %.0f MiB", run.peak, peakBound())
			}
			if !strings.Contains(run.log, "reply over the client's limits") {
				t.Errorf("no clear error in the log:\n%s", tail(run.log, 3000))
			}
		})
	}
}
