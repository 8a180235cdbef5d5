package mailout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConf(t *testing.T, text string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "batchmail.properties")
	if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func run(args []string, stdin string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = Program.Run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

// `batchmail enqueue` queues a message from a file or from standard input,
// byte for byte, into new/ through tmp/; it needs only MAIL_SPOOL_DIR from
// the task file, so scripts can queue while the rest is being fixed.
func TestEnqueue(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	conf := writeConf(t, "MAIL_SPOOL_DIR = "+spoolDir+"\nMAIL_HOST = \n")
	msg := testMessage("f@x.example", "a@x.example", "queued", "body\n.\n")
	file := filepath.Join(t.TempDir(), "msg.eml")
	os.WriteFile(file, []byte(msg), 0o600)
	for _, c := range []struct {
		name  string
		args  []string
		stdin string
	}{
		{"file", []string{"enqueue", "-conf", conf, file}, ""},
		{"stdin", []string{"enqueue", "-conf", conf, "-"}, msg},
		{"conf before enqueue", []string{"-conf", conf, "enqueue", "-"}, msg},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run(c.args, c.stdin)
			if code != 0 {
				t.Fatalf("exit %d: %s", code, stderr)
			}
			path := strings.TrimSpace(stdout)
			if filepath.Dir(path) != filepath.Join(spoolDir, DirNew) || !strings.HasSuffix(path, ".eml") {
				t.Fatalf("queued as %q", path)
			}
			if got := readFile(t, path); got != msg {
				t.Fatalf("queued %q", got)
			}
		})
	}
	spool := &Spool{Dir: spoolDir}
	if n := len(files(t, spool, DirNew)); n != 3 {
		t.Fatalf("%d files in new/", n)
	}
	if left := files(t, spool, DirTmp); len(left) != 0 {
		t.Fatalf("left in tmp/: %v", left)
	}
}

// What is not a message with a sender and a recipient is refused with
// the reason, and nothing is queued.
func TestEnqueueRefuses(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	conf := writeConf(t, "MAIL_SPOOL_DIR = "+spoolDir+"\n")
	for _, c := range []struct{ name, stdin, want string }{
		{"prose", "Hello, please send this.\n", `line 1: "Hello, please send this." is neither a header field`},
		{"empty", "", "the file is empty"},
		{"no recipient", crlf("From: f@x.example\nSubject: x\n\nbody\n"), "no recipients: To, Cc and Bcc hold no address"},
		{"no sender", crlf("To: a@x.example\nSubject: x\n\nbody\n"), "no From field"},
		{"bad address", crlf("From: f@x.example\nTo: a@x.example, <b@\n\nbody\n"), "the To field"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := run([]string{"enqueue", "-conf", conf, "-"}, c.stdin)
			if code != 1 || stdout != "" || !strings.Contains(stderr, c.want) || !strings.Contains(stderr, "nothing was queued") {
				t.Fatalf("exit %d, stdout %q, stderr %q; want 1 and %q", code, stdout, stderr, c.want)
			}
		})
	}
	spool := &Spool{Dir: spoolDir}
	if n := len(files(t, spool, DirNew)) + len(files(t, spool, DirTmp)); n != 0 {
		t.Fatalf("%d files left in the spool", n)
	}
	for _, args := range [][]string{{"enqueue"}, {"enqueue", "-conf", conf}, {"enqueue", "a", "b"}, {"enqueue", "-x", "-"}} {
		if code, _, _ := run(args, ""); code != 2 {
			t.Errorf("%q: exit %d, want 2", args, code)
		}
	}
	if code, _, stderr := run([]string{"enqueue", "-conf", conf, filepath.Join(t.TempDir(), "absent.eml")}, ""); code != 1 || !strings.Contains(stderr, "absent.eml") {
		t.Errorf("a missing file: exit %d, %s", code, stderr)
	}
}

// A bad task file stops batchmail before it does anything, listing every
// problem with file:line.
func TestBadTaskFileListsEveryProblem(t *testing.T) {
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	conf := writeConf(t, `MAIL_HOST = smtp.office365.com:587
MAIL_SECURITY = TLS
MAIL_USER = notifications@contoso.com
MAIL_AUTH_TYPE = OAUTH
MAIL_RATE_PER_MINUTE = -1
MAIL_KEEP_SENT = sometimes
MAIL_SPOOL_DIRECTORY = `+spoolDir+`
`)
	code, _, stderr := run([]string{"-conf", conf, "-once"}, "")
	if code != 1 {
		t.Fatalf("exit %d", code)
	}
	for _, w := range []string{
		// An invalid MAIL_AUTH_TYPE is one problem: nothing is said about
		// a password that may not be meant (issue 15).
		"has 6 problem(s); nothing was done",
		"batchmail.properties:1: MAIL_HOST:",
		"batchmail.properties:2: MAIL_SECURITY: \"TLS\" is not allowed: use SSL, STARTTLS or NONE",
		"batchmail.properties:4: MAIL_AUTH_TYPE:",
		"batchmail.properties:5: MAIL_RATE_PER_MINUTE:",
		"batchmail.properties:6: MAIL_KEEP_SENT:",
		"batchmail.properties:7: MAIL_SPOOL_DIRECTORY: unknown key: did you mean MAIL_SPOOL_DIR?",
	} {
		if !strings.Contains(stderr, w) {
			t.Errorf("stderr lacks %q:\n%s", w, stderr)
		}
	}
	if _, err := os.Stat(spoolDir); err == nil {
		t.Error("the spool was created")
	}
	if code, _, stderr := run([]string{"-conf", conf, "extra"}, ""); code != 2 || !strings.Contains(stderr, "usage:") {
		t.Errorf("an extra argument: exit %d, %s", code, stderr)
	}
	for _, args := range [][]string{{"-h"}, {"-conf", conf, "-once", "-h"}, {"enqueue", "-h"}, {"version"}} {
		if code, stdout, stderr := run(args, ""); code != 0 || !strings.Contains(stdout, "batchmail") {
			t.Errorf("batchmail %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
		}
	}
}

// An unknown token name stops batchmail at start-up, naming the tokens
// that exist.
func TestUnknownTokenStopsAtStart(t *testing.T) {
	r := newRig(t, rigOptions{})
	conf := r.conf(t, filepath.Join(t.TempDir(), "outbox"), "")
	text := strings.Replace(readFile(t, conf), "MAIL_TOKEN_NAME = ms", "MAIL_TOKEN_NAME = Notifications", 1)
	os.WriteFile(conf, []byte(text), 0o600)
	code, _, stderr := run([]string{"-conf", conf, "-once"}, "")
	if code != 1 || !strings.Contains(stderr, "MAIL_TOKEN_NAME = Notifications") || !strings.Contains(stderr, "ms") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

// -once: one pass; exit 0 when all went out, 1 when something was
// deferred.
func TestOnceExitCode(t *testing.T) {
	r := newRig(t, rigOptions{})
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	conf := r.conf(t, spoolDir, "")
	spool, _ := OpenSpool(spoolDir)
	queue(t, spool, "a", testMessage(r.World.MSUser, "a@x.example", "a", "x"))
	queue(t, spool, "b", testMessage(r.World.MSUser, "b@x.example", "b", "x"))
	if code, _, stderr := run([]string{"-conf", conf, "-once"}, ""); code != 0 || !strings.Contains(stderr, " sent=2 deferred=0 failed=0") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	r.smtp.FailData(1, 451, "4.7.500", "Server busy. Please try again later")
	queue(t, spool, "c", testMessage(r.World.MSUser, "c@x.example", "c", "x"))
	if code, _, stderr := run([]string{"-conf", conf, "-once"}, ""); code != 1 || !strings.Contains(stderr, "deferred=1") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	// Not due yet: nothing to do is not a failure.
	if code, _, stderr := run([]string{"-conf", conf, "-once"}, ""); code != 0 || !strings.Contains(stderr, "waiting=1") {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}

// One batchmail per spool.
func TestSpoolLock(t *testing.T) {
	spool, err := OpenSpool(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	unlock, err := spool.Lock()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := spool.Lock(); err == nil || !strings.Contains(err.Error(), "another batchmail is already sending") {
		t.Fatalf("second lock: %v", err)
	}
	unlock()
	unlock2, err := spool.Lock()
	if err != nil {
		t.Fatalf("after unlock: %v", err)
	}
	unlock2()
}

// MAIL_AUTH_TYPE defaults to PASSWORD: no token store is needed (Exchange
// offers AUTH LOGIN for passwords).
func TestPasswordLogin(t *testing.T) {
	r := newRig(t, rigOptions{})
	r.Directory.SetPassword("printer@contoso.example", "correct horse")
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	text := readFile(t, r.conf(t, spoolDir, ""))
	var kept []string
	for _, l := range strings.Split(text, "\n") {
		if !strings.HasPrefix(l, "TOKEN_STORE") && !strings.HasPrefix(l, "MAIL_AUTH_TYPE") &&
			!strings.HasPrefix(l, "MAIL_TOKEN_NAME") && !strings.HasPrefix(l, "MAIL_USER") {
			kept = append(kept, l)
		}
	}
	conf := writeConf(t, strings.Join(kept, "\n")+"MAIL_USER = printer@contoso.example\nMAIL_PASSWORD = correct horse\n")
	spool, _ := OpenSpool(spoolDir)
	queue(t, spool, "a", testMessage("printer@contoso.example", "a@x.example", "by password", "x"))
	if code, _, stderr := run([]string{"-conf", conf, "-once"}, ""); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
	if st := r.smtp.Stats()["printer@contoso.example"]; st.Mechanisms["LOGIN"] != 1 {
		t.Fatalf("logins: %+v", st)
	}
}
