package mailin

import (
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
	"mailtokens/internal/sandbox/imapd"
)

// The kill test runs evmail as real processes: this test binary, started
// again with evmailChild set, runs Main instead of the tests.
const evmailChild = "MAILIN_TEST_EVMAIL_ARGS"

// silenceEnv, when set, is how long a child evmail waits on a silent
// server (a duration).
const silenceEnv = "MAILIN_TEST_SILENCE"

func TestMain(m *testing.M) {
	if args := os.Getenv(evmailChild); args != "" {
		if d, err := time.ParseDuration(os.Getenv(silenceEnv)); err == nil {
			silence.login, silence.op = d, d
		}
		ctx, stop := cmdline.SignalContext()
		code := evmail(ctx, strings.Split(args, "\x1f"), os.Stderr)
		stop()
		reportPeakRSS()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// reportPeakRSS writes the process's own peak RSS to stderr for peakRSS.
// VmHWM counts this program only; the parent's rusage ru_maxrss would also
// count the test binary's memory shared with the child before exec.
func reportPeakRSS() {
	status, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(status), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			fmt.Fprintf(os.Stderr, "\nPEAK_RSS=%s\n", strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
		}
	}
}

func evmailProcess(t testing.TB, logFile *os.File, args ...string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), evmailChild+"="+strings.Join(args, "\x1f"))
	cmd.Stderr = logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

var messageIDRE = regexp.MustCompile(`(?m)^Message-ID: <(m\d+)@example.com>$`)

// delivered counts each message's copies in the Maildir.
func deliveredCounts(t *testing.T, dir string) map[string]int {
	counts := map[string]int{}
	for _, m := range maildir(t, dir) {
		id := messageIDRE.FindStringSubmatch(m)
		if id == nil {
			t.Fatalf("a delivered file without our Message-ID (a partial write?): %.200q", m)
		}
		counts[id[1]]++
	}
	return counts
}

// TestKillNineTenTimes: evmail receives 500 messages (IMAP, POP3,
// Microsoft Graph and the Gmail API, DELETE after delivery) and is killed with SIGKILL at random moments, ten
// times, restarting each time. Afterwards every message is in the Maildir
// exactly once, and at no point was a message gone from the server that
// was not delivered.
func TestKillNineTenTimes(t *testing.T) {
	if testing.Short() {
		t.Skip("runs evmail processes")
	}
	for _, proto := range []string{"IMAP", "POP3", "GRAPH", "GMAIL_API"} {
		t.Run(proto, func(t *testing.T) { killTest(t, proto) })
	}
}

func killTest(t *testing.T, proto string) {
	r := newRig(t)
	box, user := r.imap, r.World.MSUser
	switch proto {
	case "GRAPH":
		r = newGraphRig(t)
		box = r.imap
	case "GMAIL_API":
		r = newGmailRig(t)
		box, user = r.gmailIMAP(), r.World.GoogleUser
	}
	const total = 500
	for i := range total {
		m := message(i, fmt.Sprintf("message %d\r\n.%s", i, strings.Repeat("k", 2000+i*17%5000)))
		if proto == "POP3" {
			r.pop3.Add(r.World.MSUser, m)
		} else if _, err := box.Append(user, "INBOX", m); err != nil {
			t.Fatal(err)
		}
	}
	keys := map[string]string{"MAILBOX_AFTER_DELIVERY": "DELETE", "LOG_LEVEL": "INFO"}
	task := r.task("kill", keys)
	switch proto {
	case "POP3":
		task = r.pop3Task("kill", keys)
	case "GRAPH":
		task = r.graphTask("kill", keys)
	case "GMAIL_API":
		task = r.gmailTask("kill", keys)
	}
	inbox := filepath.Join(r.Dir, "inbox")
	logFile, err := os.Create(filepath.Join(r.Dir, "evmail.log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	rng := rand.New(rand.NewPCG(20261122, 4))

	check := func(when string) map[string]int {
		counts := deliveredCounts(t, inbox)
		for id, n := range counts {
			if n > 1 {
				t.Fatalf("%s: message %s delivered %d times", when, id, n)
			}
		}
		left := map[string]bool{}
		for _, raw := range r.onServer(proto, box, user) {
			left[messageIDRE.FindStringSubmatch(strings.ReplaceAll(string(raw), "\r\n", "\n"))[1]] = true
		}
		for i := range total {
			id := fmt.Sprintf("m%d", i)
			if !left[id] && counts[id] == 0 {
				t.Fatalf("%s: message %s is gone from the server but was never delivered", when, id)
			}
		}
		return counts
	}

	for kill := 1; kill <= 10; kill++ {
		cmd := evmailProcess(t, logFile, "-conf", task)
		time.Sleep(time.Duration(40+rng.IntN(120)) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		counts := check(fmt.Sprintf("after kill %d", kill))
		t.Logf("kill %d: %d of %d delivered", kill, len(counts), total)
	}
	// The last run finishes the job.
	cmd := evmailProcess(t, logFile, "-conf", task, "-once")
	if err := cmd.Wait(); err != nil {
		log, _ := os.ReadFile(logFile.Name())
		t.Fatalf("final run: %v\n%s", err, tail(string(log), 3000))
	}
	counts := check("at the end")
	if len(counts) != total {
		t.Fatalf("%d of %d messages delivered", len(counts), total)
	}
	if n := len(r.onServer(proto, box, user)); n != 0 {
		t.Fatalf("%d messages left on the server", n)
	}
}

// onServer returns the messages still in the mailbox: user's INBOX in
// box, or the POP3 maildrop.
func (r *rig) onServer(proto string, box *imapd.Server, user string) [][]byte {
	var out [][]byte
	if proto == "POP3" {
		for _, m := range r.pop3.Messages(r.World.MSUser) {
			out = append(out, m.Data)
		}
		return out
	}
	msgs, err := box.Messages(user, "INBOX")
	if err != nil {
		r.t.Fatal(err)
	}
	for _, m := range msgs {
		out = append(out, m.Raw)
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
