package mailin

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/sandboxtest"
)

// newGmailRig is the rig with the sandbox's Gmail-API-like server over
// the Google-style IMAP server's mailboxes, and a token "gmail" for
// gmail.modify.
func newGmailRig(t testing.TB) *rig {
	t.Helper()
	return newRigWith(t, sandboxtest.GmailAPI(),
		sandboxtest.AuthorizedFor("gmail", provider.Google, provider.GoogleGmailModifyScope))
}

// gmailIMAP is the Google-style IMAP server behind the Gmail API.
func (r *rig) gmailIMAP() *imapd.Server { return r.IMAP[provider.Google].Server }

// gmailTask writes a task file receiving the world's Google mailbox
// through the Gmail API, with keys on top.
func (r *rig) gmailTask(name string, keys map[string]string) string {
	r.t.Helper()
	base := map[string]string{"MAILBOX_PROTOCOL": "GMAIL_API", "MAILBOX_GMAIL_API_URL": r.GmailAPIURL,
		"MAILBOX_USER": r.World.GoogleUser, "MAILBOX_EMAIL_TOKEN_NAME": "gmail",
		"MAILBOX_HOST": "", "MAILBOX_PORT": "", "MAILBOX_SECURITY": "", "MAILBOX_FOLDER": "INBOX"}
	for k, v := range keys {
		base[k] = v
	}
	return r.task(name, base)
}

// TestGmailAPIReceive: evmail with MAILBOX_PROTOCOL = GMAIL_API delivers
// every message of the label once, byte for byte (LF line ends), trashes
// each only after it is delivered, later delivers only what is new (from
// the history), and when Gmail forgot the history lists the label again
// without delivering anything twice.
func TestGmailAPIReceive(t *testing.T) {
	r := newGmailRig(t)
	box := r.gmailIMAP()
	var want []string
	add := func(from, to int) {
		for i := from; i < to; i++ {
			m := message(i, fmt.Sprintf("gmail %d\r\n%s\xe9\r\n", i, strings.Repeat("y", 700*i)))
			if _, err := box.Append(r.World.GoogleUser, "INBOX", m); err != nil {
				t.Fatal(err)
			}
			want = append(want, lf(m))
		}
	}
	inbox := filepath.Join(r.Dir, "inbox")
	task := r.gmailTask("gmail", map[string]string{"MAILBOX_AFTER_DELIVERY": "DELETE"})
	add(0, 7)
	code, log := r.run(task)
	if code != 0 || !strings.Contains(log, "protocol=GMAIL_API") || !strings.Contains(log, "delivered=7") {
		t.Fatalf("exit %d\n%s", code, log)
	}
	slices.Sort(want)
	if got := maildir(t, inbox); !slices.Equal(got, want) {
		t.Fatalf("delivered %d messages, want %d byte-exact", len(got), len(want))
	}
	if left, _ := box.Messages(r.World.GoogleUser, "INBOX"); len(left) != 0 {
		t.Fatalf("%d messages left in INBOX after DELETE (trash)", len(left))
	}
	add(7, 10)
	if code, log := r.run(task); code != 0 || !strings.Contains(log, "delivered=3") {
		t.Fatalf("second run (history): exit %d\n%s", code, log)
	}

	// SEEN keeps them; a forgotten history lists the label again.
	seen := r.gmailTask("gmail-seen", map[string]string{"MAILBOX_AFTER_DELIVERY": "SEEN",
		"MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "seen")})
	add(10, 14)
	if code, log := r.run(seen); code != 0 {
		t.Fatalf("SEEN run: exit %d\n%s", code, log)
	}
	r.GmailAPI.ForgetHistory("")
	add(14, 15)
	code, log = r.run(seen)
	if code != 0 || !strings.Contains(log, "no longer has the history") {
		t.Fatalf("after Gmail forgot the history: exit %d\n%s", code, log)
	}
	counts := deliveredCounts(t, filepath.Join(r.Dir, "seen"))
	if len(counts) != 5 {
		t.Fatalf("SEEN delivered %v, want m10..m14 once each", counts)
	}
	for id, n := range counts {
		if n != 1 {
			t.Fatalf("%s delivered %d times", id, n)
		}
	}
	left, _ := box.Messages(r.World.GoogleUser, "INBOX")
	for _, m := range left {
		if !slices.Contains(m.Flags, imap.FlagSeen) {
			t.Fatalf("a message in INBOX is not \\Seen after SEEN")
		}
	}
}
