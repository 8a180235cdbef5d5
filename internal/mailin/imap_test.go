package mailin

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/tokenstore"
)

func TestIMAPSeen(t *testing.T) {
	r := newRig(t)
	tricky := ".hidden line\r\n..\r\n" + strings.Repeat("x", 5000) + "\r\nlast"
	var want []string
	for i := range 5 {
		m := message(i, tricky)
		if _, err := r.imap.Append(r.World.MSUser, "INBOX", m); err != nil {
			t.Fatal(err)
		}
		want = append(want, lf(m))
	}
	task := r.task("seen", nil)
	if code, log := r.run(task); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	got := maildir(t, filepath.Join(r.Dir, "inbox"))
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("maildir holds %d messages, want %d (byte-exact, LF line ends)", len(got), len(want))
	}
	msgs, _ := r.imap.Messages(r.World.MSUser, "INBOX")
	for _, m := range msgs {
		if !slices.Contains(m.Flags, imap.FlagSeen) {
			t.Fatalf("UID %d not marked seen: %v", m.UID, m.Flags)
		}
	}
	// A second pass delivers nothing again; a new message is picked up.
	r.imap.Append(r.World.MSUser, "INBOX", message(9, "new"))
	if code, log := r.run(task); code != 0 || !strings.Contains(log, "delivered=1") {
		t.Fatalf("second pass: %d\n%s", code, log)
	}
	if n := len(maildir(t, filepath.Join(r.Dir, "inbox"))); n != 6 {
		t.Fatalf("%d messages after the second pass, want 6", n)
	}
	st := r.OpenStore(t)
	defer st.Close()
	tok, _ := st.Get(context.Background(), "support")
	if tok.LastUsedBy != tokenstore.ActorEvmail {
		t.Fatalf("last used by %q", tok.LastUsedBy)
	}
	tasks, _ := st.Tasks(context.Background(), "support")
	if len(tasks) != 1 || !strings.HasSuffix(tasks[0].Task, "seen.properties") {
		t.Fatalf("task not recorded: %+v", tasks)
	}
}

func TestIMAPMoveAndDelete(t *testing.T) {
	for _, c := range []struct {
		name   string
		keys   map[string]string
		noMove bool
	}{
		{"move", map[string]string{"MAILBOX_AFTER_DELIVERY": "MOVE", "MAILBOX_MOVE_TO": "Processed"}, false},
		{"move without the MOVE extension", map[string]string{"MAILBOX_AFTER_DELIVERY": "MOVE", "MAILBOX_MOVE_TO": "Processed"}, true},
		{"delete", map[string]string{"MAILBOX_AFTER_DELIVERY": "DELETE"}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := newRig(t, func(o *imapd.Options) { o.NoMove = c.noMove })
			for i := range 3 {
				r.imap.Append(r.World.MSUser, "INBOX", message(i, "body"))
			}
			if code, log := r.run(r.task("t", c.keys)); code != 0 {
				t.Fatalf("exit %d\n%s", code, log)
			}
			if n := len(maildir(t, filepath.Join(r.Dir, "inbox"))); n != 3 {
				t.Fatalf("%d delivered", n)
			}
			if left, _ := r.imap.Messages(r.World.MSUser, "INBOX"); len(left) != 0 {
				t.Fatalf("%d messages left in INBOX", len(left))
			}
			moved, _ := r.imap.Messages(r.World.MSUser, "Processed")
			if c.keys["MAILBOX_AFTER_DELIVERY"] == "MOVE" && len(moved) != 3 {
				t.Fatalf("%d messages in Processed", len(moved))
			}
		})
	}
}

func TestIMAPSharedMailboxAndPassword(t *testing.T) {
	r := newRig(t)
	r.imap.AddMailbox(r.World.MSSharedMailbox)
	r.imap.Append(r.World.MSSharedMailbox, "INBOX", message(1, "shared"))
	if code, log := r.run(r.task("shared", map[string]string{"MAILBOX_USER": r.World.MSSharedMailbox})); code != 0 {
		t.Fatalf("shared mailbox: %d\n%s", code, log)
	}
	r.imap.AddMailbox("clerk@contoso.example")
	r.imap.Append("clerk@contoso.example", "INBOX", message(2, "password"))
	task := r.task("pw", map[string]string{"MAILBOX_USER": "clerk@contoso.example", "MAILBOX_AUTH_TYPE": "PASSWORD",
		"MAILBOX_PASSWORD": "clerk password", "MAILBOX_EMAIL_TOKEN_NAME": "", "MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "clerk")})
	if code, log := r.run(task); code != 0 {
		t.Fatalf("password login: %d\n%s", code, log)
	}
	if n := len(maildir(t, filepath.Join(r.Dir, "clerk"))); n != 1 {
		t.Fatalf("%d delivered with a password login", n)
	}
}

func TestIMAPUIDValidityChange(t *testing.T) {
	r := newRig(t)
	for i := range 3 {
		r.imap.Append(r.World.MSUser, "INBOX", message(i, "before"))
	}
	task := r.task("v", nil)
	if code, log := r.run(task); code != 0 {
		t.Fatalf("%d\n%s", code, log)
	}
	// The server renumbers the folder; the delivered (now \Seen) messages
	// must not come again, the new one must.
	if _, err := r.imap.RenumberFolder(r.World.MSUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	r.imap.Append(r.World.MSUser, "INBOX", message(7, "after"))
	code, log := r.run(task)
	if code != 0 || !strings.Contains(log, "UIDVALIDITY changed") {
		t.Fatalf("%d\n%s", code, log)
	}
	if n := len(maildir(t, filepath.Join(r.Dir, "inbox"))); n != 4 {
		t.Fatalf("%d messages after the renumbering, want 4", n)
	}
}

// TestIMAPUIDValidityChangeWithoutNewMail: after the server renumbers the
// folder, the delivered (\Seen) messages are not delivered again, neither
// by the pass that notices the change nor by the ones after it (none has
// new mail to move the mark); one that arrives later is.
func TestIMAPUIDValidityChangeWithoutNewMail(t *testing.T) {
	r := newRig(t)
	for i := range 3 {
		r.imap.Append(r.World.MSUser, "INBOX", message(i, "before"))
	}
	task := r.task("v", nil)
	inbox := filepath.Join(r.Dir, "inbox")
	if code, log := r.run(task); code != 0 {
		t.Fatalf("%d\n%s", code, log)
	}
	if _, err := r.imap.RenumberFolder(r.World.MSUser, "INBOX"); err != nil {
		t.Fatal(err)
	}
	for pass := 1; pass <= 3; pass++ {
		code, log := r.run(task)
		if code != 0 || (pass == 1) != strings.Contains(log, "UIDVALIDITY changed") {
			t.Fatalf("pass %d after the renumbering: %d\n%s", pass, code, log)
		}
		if n := len(maildir(t, inbox)); n != 3 {
			t.Fatalf("pass %d after the renumbering: %d messages delivered, want 3\n%s", pass, n, log)
		}
	}
	r.imap.Append(r.World.MSUser, "INBOX", message(8, "after"))
	if code, log := r.run(task); code != 0 || len(maildir(t, inbox)) != 4 {
		t.Fatalf("new mail after the renumbering: %d, %d delivered\n%s", code, len(maildir(t, inbox)), log)
	}
	if code, log := r.run(task); code != 0 || len(maildir(t, inbox)) != 4 {
		t.Fatalf("a pass after that: %d, %d delivered\n%s", code, len(maildir(t, inbox)), log)
	}
}

func TestCrashAfterWriteBeforeRecordIsRecognised(t *testing.T) {
	r := newRig(t)
	m := message(1, "once only")
	uid, _ := r.imap.Append(r.World.MSUser, "INBOX", m)
	validity, _ := r.imap.UIDValidity(r.World.MSUser, "INBOX")
	inbox := filepath.Join(r.Dir, "inbox")
	md, _ := OpenMaildir(inbox)
	// As if evmail had recorded "pending", written the file, and died.
	st := r.OpenStore(t)
	key := "imap|" + strings.ToLower(strings.Join([]string{hostOf(r.imapS), portOf(r.imapS), r.World.MSUser, "INBOX"}, "|"))
	name := md.Name(time.Now())
	NewLedger(st.DB()).SetDelivery(context.Background(), key, Delivery{UID: fmtUID(validity, uid), State: DeliveryPending, Location: name})
	st.Close()
	os.WriteFile(filepath.Join(inbox, "new", name), []byte(lf(m)), 0o600)

	code, log := r.run(r.task("crash", nil))
	if code != 0 || !strings.Contains(log, "recognised=1") {
		t.Fatalf("%d\n%s", code, log)
	}
	if n := len(maildir(t, inbox)); n != 1 {
		t.Fatalf("%d copies of the message", n)
	}
	msgs, _ := r.imap.Messages(r.World.MSUser, "INBOX")
	if !slices.Contains(msgs[0].Flags, imap.FlagSeen) {
		t.Fatal("the recognised message was not marked seen")
	}
}

func TestCommandDelivery(t *testing.T) {
	r := newRig(t)
	r.imap.Append(r.World.MSUser, "INBOX", message(1, "to a program"))
	out := filepath.Join(r.Dir, "program-got")
	script := filepath.Join(r.Dir, "deliver.sh")
	os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s\\n' \"$MAILTOKENS_MESSAGE_KEY\" >> \""+out+".keys\"\ncat >> \""+out+"\"\n"), 0o700)
	code, log := r.run(r.task("cmd", map[string]string{"MAILBOX_DELIVER_TO": "command:" + script}))
	if code != 0 {
		t.Fatalf("%d\n%s", code, log)
	}
	got, _ := os.ReadFile(out)
	if string(got) != lf(message(1, "to a program")) {
		t.Fatalf("the program got %q", got)
	}
	keys, _ := os.ReadFile(out + ".keys")
	if !strings.Contains(string(keys), "|inbox ") {
		t.Fatalf("MAILTOKENS_MESSAGE_KEY = %q", keys)
	}

	// A program that fails: logged with its stderr, message left unseen
	// for the next pass.
	r.imap.Append(r.World.MSUser, "INBOX", message(2, "refused"))
	bad := filepath.Join(r.Dir, "bad.sh")
	os.WriteFile(bad, []byte("#!/bin/sh\ncat >/dev/null\necho 'queue is full' >&2\nexit 3\n"), 0o700)
	code, log = r.run(r.task("cmd", map[string]string{"MAILBOX_DELIVER_TO": "command:" + bad}))
	if code != 1 || !strings.Contains(log, "queue is full") || !strings.Contains(log, "failed=1") {
		t.Fatalf("failing program: %d\n%s", code, log)
	}
	msgs, _ := r.imap.Messages(r.World.MSUser, "INBOX")
	if slices.Contains(msgs[1].Flags, imap.FlagSeen) {
		t.Fatal("an undelivered message was marked seen")
	}
}

func TestStartupProblems(t *testing.T) {
	r := newRig(t)
	code, log := r.run(r.task("bad", map[string]string{"MAILBOX_PROTOCOL": "IMAP4", "MAILBOX_POLL_INTERVAL": "soon", "MAILBOX_EMAIL_TOKEN_NAME": "support"}))
	if code != 1 || !strings.Contains(log, "2 problem(s)") || !strings.Contains(log, "bad.properties:") ||
		!strings.Contains(log, "MAILBOX_PROTOCOL") || !strings.Contains(log, "MAILBOX_POLL_INTERVAL") {
		t.Fatalf("bad task: %d\n%s", code, log)
	}
	code, log = r.run(r.task("unknown", map[string]string{"MAILBOX_EMAIL_TOKEN_NAME": "suport"}))
	if code != 1 || !strings.Contains(log, "MAILBOX_EMAIL_TOKEN_NAME = suport") || !strings.Contains(log, "tokens: support") {
		t.Fatalf("unknown token: %d\n%s", code, log)
	}
	st := r.OpenStore(t)
	st.Create(context.Background(), tokenstore.Settings{Name: "fresh", Config: provider.Config{Type: "google", ClientID: "x"}}, tokenstore.ActorCLI)
	st.Close()
	code, log = r.run(r.task("fresh", map[string]string{"MAILBOX_EMAIL_TOKEN_NAME": "fresh"}))
	if code != 1 || !strings.Contains(log, "Get Email Token") {
		t.Fatalf("unauthorized token: %d\n%s", code, log)
	}
	if code, _ := r.run(r.task("x", nil), "extra-arg"); code != 2 {
		t.Fatalf("usage error: %d", code)
	}
}
