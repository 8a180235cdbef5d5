package demo

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/cli"
	"mailtokens/internal/sandbox/dovecot"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/testenv"
)

// TestDemoDovecot is `make demo DEMO_FLAGS=--dovecot` without a browser:
// the demo starts with a private Dovecot, the Microsoft-like token is
// authorized with `evadmin token login` (the sign-in played by the
// sandbox's helper, the answer pasted), and mail goes round through
// Dovecot: evmail delivers the messages waiting in Dovecot's mailbox and
// those batchmail submitted, which Dovecot relayed back into it. Ctrl-C
// then stops Dovecot with the rest and leaves nothing behind.
func TestDemoDovecot(t *testing.T) {
	dovecot.Require(t)
	dir := filepath.Join(t.TempDir(), "demo-data")
	runCtx, stop := context.WithCancel(context.Background())
	outR, outW := io.Pipe()
	var logs syncbuf.Buffer
	done := make(chan int, 1)
	go func() {
		done <- Program.Run(runCtx, []string{"--dovecot", "--dir", dir, "--listen", "127.0.0.1:0"}, strings.NewReader(""), outW, &logs)
		outW.Close()
	}()
	exited := false
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("the demo's log:\n%s", logs.String())
		}
		if !exited {
			stop()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Error("the demo did not stop")
			}
		}
	})

	// Read the console until it has said which servers and how to sign in.
	var banner strings.Builder
	lines := bufio.NewScanner(outR)
	for lines.Scan() {
		banner.WriteString(lines.Text() + "\n")
		if strings.Contains(lines.Text(), "Ctrl-C stops everything") {
			break
		}
	}
	go io.Copy(io.Discard, outR)
	m := regexp.MustCompile(`(?s)a private Dovecot's instead of the sandbox's.*IMAP\s+(\S+) \(TLS\).*` +
		`Its configuration, log, CA and mail are in (\S+)/ until the demo stops.*` +
		`sign in as\s+(\S+)\s+with the password\s+(\S+).*` +
		`Dovecot's CA is (\S+)\)`).FindStringSubmatch(banner.String())
	if m == nil {
		t.Fatalf("the banner does not say that Dovecot is in use:\n%s", banner.String())
	}
	imapAddr, dovecotDir, user, password, caFile := m[1], m[2], m[3], m[4], m[5]
	// The workers trust Dovecot's CA.
	for file, key := range map[string]string{"evmail.properties": "MAILBOX_TLS_CA_FILE", "batchmail.properties": "MAIL_TLS_CA_FILE"} {
		data, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil || !strings.Contains(string(data), key+" = "+caFile+"\n") {
			t.Fatalf("%s does not set %s = %s (%v):\n%s", file, key, caFile, err, data)
		}
	}
	conf, err := os.ReadFile(filepath.Join(dovecotDir, "dovecot.conf"))
	if err != nil {
		t.Fatal(err)
	}
	instance := regexp.MustCompile(`(?m)^instance_name = (\S+)$`).FindSubmatch(conf)
	if instance == nil || !strings.Contains(string(conf), "submission_relay_host = 127.0.0.1") {
		t.Fatalf("dovecot.conf:\n%s", conf)
	}

	// Get the token as an admin at a terminal would while the demo runs:
	// evadmin serve holds LISTEN, so the command takes the address the
	// browser ends on, pasted.
	stdin, out, loginDone := testenv.Console(t, cli.Run, "-conf", filepath.Join(dir, "evadmin.properties"), "token", "login", MicrosoftToken)
	signIn := testenv.WaitLine(t, out, regexp.MustCompile(`^\s+(http\S+)$`))[1]
	// SignIn only plays the user at the page the address names, which the
	// demo's own provider serves; an unstarted Server lends the helper.
	back, err := idp.New(idp.Options{}).SignIn(context.Background(), signIn, user, password)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(stdin, back.String()+"\n")
	testenv.WaitLine(t, out, regexp.MustCompile(`^token .* authorized`))
	if code := <-loginDone; code != 0 {
		t.Fatalf("token login exited %d", code)
	}

	// The 3 messages waiting in Dovecot, and the 3 batchmail sends, which
	// Dovecot's submission relays back into the same mailbox.
	inbox := filepath.Join(dir, "inbox", "new")
	waitUntil(t, "evmail to deliver 6 messages and batchmail to send 3", func() bool {
		return count(inbox) >= 6 && count(filepath.Join(dir, "outbox", "sent")) == 3
	})
	relayed := 0
	entries, _ := os.ReadDir(inbox)
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(inbox, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "\tby "+dovecot.Hostname+" with ESMTPSA") {
			relayed++
		}
	}
	if len(entries) != 6 || relayed != 3 {
		t.Errorf("the inbox holds %d messages, %d of them relayed by Dovecot's submission; want 6 and 3", len(entries), relayed)
	}

	// Ctrl-C.
	stop()
	select {
	case code := <-done:
		exited = true
		if code != 0 {
			t.Errorf("the demo exited %d after Ctrl-C", code)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the demo did not stop within 30 s of Ctrl-C")
	}
	if _, err := os.Stat(dovecotDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Dovecot's directory %s is still there (%v)", dovecotDir, err)
	}
	if left := processesMentioning(dovecotDir, string(instance[1])); len(left) > 0 {
		t.Errorf("processes left behind:\n%s", strings.Join(left, "\n"))
	}
	if conn, err := (&net.Dialer{Timeout: time.Second}).Dial("tcp", imapAddr); err == nil {
		conn.Close()
		t.Errorf("something still listens on Dovecot's IMAP address %s", imapAddr)
	}
}

// processesMentioning lists the processes whose command line holds one of
// the words: Dovecot's master and doveadm name the configuration file,
// Dovecot's other processes carry the instance name in their titles
// ("dovecot-<instance>/auth").
func processesMentioning(words ...string) []string {
	files, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	var found []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue // it ended while we looked
		}
		cmdline := strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
		for _, w := range words {
			if strings.Contains(cmdline, w) {
				found = append(found, filepath.Base(filepath.Dir(f))+": "+cmdline)
				break
			}
		}
	}
	return found
}
