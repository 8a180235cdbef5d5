package imapd

import (
	"errors"
	"slices"
	"testing"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// The message-level methods change what an IMAP client with the folder
// selected sees, and refuse a UID that is not there.
func TestStoreMethods(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	if f.srv.HasMailbox(user) {
		t.Fatal("HasMailbox before anything created it")
	}
	uid1, err := f.srv.Append(user, "INBOX", testMessage("one"))
	if err != nil {
		t.Fatal(err)
	}
	uid2, _ := f.srv.Append(user, "INBOX", testMessage("two"))
	if !f.srv.HasMailbox(user) {
		t.Fatal("no mailbox after Append")
	}
	folders, err := f.srv.Folders(user)
	if err != nil || !slices.Contains(folders, "INBOX") || !slices.Contains(folders, "Sent Items") {
		t.Fatalf("Folders = %q, %v", folders, err)
	}

	// A client with INBOX selected hears of every change.
	c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain, nil)
	if err := c.Login(user, "x").Wait(); err == nil {
		t.Fatal("login with a wrong password worked")
	}
	f.Directory.SetPassword(user, "pw")
	if err := c.Login(user, "pw").Wait(); err != nil {
		t.Fatal(err)
	}
	if n := numMessages(t, c, "INBOX"); n != 2 {
		t.Fatalf("INBOX holds %d", n)
	}

	if err := f.srv.StoreFlags(user, "INBOX", uid1, imap.StoreFlagsAdd, imap.FlagSeen); err != nil {
		t.Fatal(err)
	}
	m, err := f.srv.Message(user, "inbox", uid1)
	if err != nil || !slices.Contains(m.Flags, imap.FlagSeen) || string(m.Raw) != string(testMessage("one")) {
		t.Fatalf("Message after StoreFlags = %+v, %v", m, err)
	}
	newUID, err := f.srv.MoveMessage(user, "INBOX", uid2, "Archive")
	if err != nil {
		t.Fatal(err)
	}
	if m, err := f.srv.Message(user, "Archive", newUID); err != nil || string(m.Raw) != string(testMessage("two")) {
		t.Fatalf("moved message = %+v, %v", m, err)
	}
	if _, err := f.srv.Message(user, "INBOX", uid2); !errors.Is(err, ErrNoMessage) {
		t.Errorf("the moved message is still in INBOX: %v", err)
	}
	if err := f.srv.ExpungeMessage(user, "INBOX", uid1); err != nil {
		t.Fatal(err)
	}
	for _, err := range []error{
		f.srv.ExpungeMessage(user, "INBOX", uid1),
		f.srv.StoreFlags(user, "INBOX", 99, imap.StoreFlagsAdd, imap.FlagSeen),
	} {
		if !errors.Is(err, ErrNoMessage) {
			t.Errorf("missing UID: %v, want ErrNoMessage", err)
		}
	}
	if _, err := f.srv.MoveMessage(user, "INBOX", 42, "Archive"); !errors.Is(err, ErrNoMessage) {
		t.Errorf("moving a missing UID: %v", err)
	}
	// The selected client sees the expunges at its next command.
	if err := c.Noop().Wait(); err != nil {
		t.Fatal(err)
	}
	if st, err := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait(); err != nil || *st.NumMessages != 0 {
		t.Errorf("INBOX over IMAP after the changes: %+v, %v", st, err)
	}
	wantMessages(t, f.srv, user, "INBOX")
}

// Index lists UIDs, flags and dates without contents, with the folder's
// UIDVALIDITY; MessagesByUID fetches only the UIDs asked for, never the
// highest for a UID past it, and neither sets \Seen.
func TestIndexAndMessagesByUID(t *testing.T) {
	f := newFixture(t, provider.Google, Options{})
	user := f.World.GoogleUser
	f.srv.AddMailbox(user)
	v, msgs, err := f.srv.Index(user, "[Gmail]/Spam")
	if err != nil || v == 0 || len(msgs) != 0 {
		t.Fatalf("Index of an empty folder = %d, %v, %v", v, msgs, err)
	}
	uid1, _ := f.srv.Append(user, "INBOX", testMessage("one"))
	uid2, _ := f.srv.Append(user, "INBOX", testMessage("two"), imap.FlagSeen)
	want, _ := f.srv.UIDValidity(user, "INBOX")
	v, msgs, err = f.srv.Index(user, "INBOX")
	if err != nil || v != want || len(msgs) != 2 || msgs[0].UID != uid1 || msgs[1].UID != uid2 ||
		msgs[0].Raw != nil || !slices.Contains(msgs[1].Flags, imap.FlagSeen) || msgs[0].InternalDate.IsZero() {
		t.Fatalf("Index = %d, %+v, %v (UIDVALIDITY %d)", v, msgs, err, want)
	}
	got, err := f.srv.MessagesByUID(user, "INBOX", []uint32{uid2, uid2 + 5})
	if err != nil || len(got) != 1 || got[0].UID != uid2 || string(got[0].Raw) != string(testMessage("two")) {
		t.Fatalf("MessagesByUID = %+v, %v", got, err)
	}
	if got, err := f.srv.MessagesByUID(user, "INBOX", []uint32{uid2 + 5}); err != nil || len(got) != 0 {
		t.Fatalf("MessagesByUID past the highest = %+v, %v", got, err)
	}
	all, _ := f.srv.Messages(user, "INBOX")
	if slices.Contains(all[0].Flags, imap.FlagSeen) {
		t.Error("reading set \\Seen")
	}
}
