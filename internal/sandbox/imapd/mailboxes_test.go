package imapd

import (
	"bytes"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// loggedIn returns a client logged in to the world's Microsoft user's
// mailbox with a token, over a Plain listener.
func (f *fixture) loggedIn(t *testing.T, addr string, opt *imapclient.Options) *imapclient.Client {
	t.Helper()
	user := f.World.MSUser
	c := f.dial(t, addr, mailauth.Plain, opt)
	if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(user, f.Token(t, provider.Microsoft, user))); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	return c
}

// wantMessages fails unless folder holds exactly the messages want, in UID
// order, compared by flags and bytes.
func wantMessages(t *testing.T, s *Server, mailbox, folder string, want ...Message) []Message {
	t.Helper()
	got, err := s.Messages(mailbox, folder)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%s holds %d messages, want %d", folder, len(got), len(want))
	}
	for i := range want {
		if !slices.Equal(got[i].Flags, want[i].Flags) || !bytes.Equal(got[i].Raw, want[i].Raw) {
			t.Errorf("%s message %d: flags %v, %d bytes; want flags %v and the %d bytes appended",
				folder, i, got[i].Flags, len(got[i].Raw), want[i].Flags, len(want[i].Raw))
		}
		if want[i].UID != 0 && got[i].UID != want[i].UID {
			t.Errorf("%s message %d: UID %d, want %d", folder, i, got[i].UID, want[i].UID)
		}
	}
	return got
}

// What a worker does to delivered mail — mark it seen, move it — shows in
// the server's state, and reading that state marks nothing.
func TestAppendStoreMove(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	a, b := testMessage("first"), testMessage("second")
	uidA, err := f.srv.Append(user, "INBOX", a)
	if err != nil {
		t.Fatal(err)
	}
	uidB, err := f.srv.Append(user, "INBOX", b, imap.FlagFlagged)
	if err != nil {
		t.Fatal(err)
	}
	if uidA != 1 || uidB != 2 {
		t.Fatalf("UIDs %d, %d; want 1, 2", uidA, uidB)
	}
	// Reading leaves \Seen alone.
	wantMessages(t, f.srv, user, "INBOX",
		Message{UID: 1, Raw: a, Flags: []imap.Flag{}},
		Message{UID: 2, Raw: b, Flags: []imap.Flag{imap.FlagFlagged}})
	wantMessages(t, f.srv, user, "INBOX",
		Message{UID: 1, Raw: a, Flags: []imap.Flag{}},
		Message{UID: 2, Raw: b, Flags: []imap.Flag{imap.FlagFlagged}})

	sent := &transcript{}
	c := f.loggedIn(t, f.listen(t, mailauth.Plain), &imapclient.Options{DebugWriter: sent})
	if !c.Caps().Has(imap.CapMove) || !c.Caps().Has(imap.CapUIDPlus) {
		t.Errorf("capabilities after login %v, want MOVE and UIDPLUS", c.Caps())
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	store := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagSeen}}
	if err := c.Store(imap.UIDSetNum(1), store, nil).Close(); err != nil {
		t.Fatalf("UID STORE: %v", err)
	}
	moved, err := c.Move(imap.UIDSetNum(2), "Archive").Wait()
	if err != nil {
		t.Fatalf("UID MOVE: %v", err)
	}
	if dest, ok := moved.DestUIDs.(imap.UIDSet); moved.UIDValidity == 0 || !ok || !dest.Contains(1) {
		t.Errorf("COPYUID %+v, want the message as UID 1 of Archive", moved)
	}
	if cmds := sent.uidCommands(); !slices.Contains(cmds, `UID MOVE 2 "Archive"`) {
		t.Errorf("client sent %q, want UID MOVE", cmds)
	}

	wantMessages(t, f.srv, user, "INBOX", Message{UID: 1, Raw: a, Flags: []imap.Flag{imap.FlagSeen}})
	wantMessages(t, f.srv, user, "Archive", Message{UID: 1, Raw: b, Flags: []imap.Flag{imap.FlagFlagged}})
}

// Without MOVE a client must fall back to COPY + STORE \Deleted + EXPUNGE;
// the server refuses MOVE itself.
func TestNoMove(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{NoMove: true})
	user := f.World.MSUser
	a := testMessage("to move")
	if _, err := f.srv.Append(user, "INBOX", a); err != nil {
		t.Fatal(err)
	}
	addr := f.listen(t, mailauth.Plain)

	sent := &transcript{}
	c := f.loggedIn(t, addr, &imapclient.Options{DebugWriter: sent})
	if c.Caps().Has(imap.CapMove) {
		t.Fatalf("MOVE offered with NoMove: %v", c.Caps())
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Move(imap.UIDSetNum(1), "Archive").Wait(); err != nil {
		t.Fatalf("move by fallback: %v", err)
	}
	want := []string{`UID COPY 1 "Archive"`, `UID STORE 1 +FLAGS.SILENT (\Deleted)`, "UID EXPUNGE 1"}
	if cmds := sent.uidCommands(); !slices.Equal(cmds, want) {
		t.Errorf("client sent %q, want the fallback %q", cmds, want)
	}
	wantMessages(t, f.srv, user, "INBOX")
	wantMessages(t, f.srv, user, "Archive", Message{Raw: a, Flags: []imap.Flag{}})

	// A client that sends MOVE anyway is told it is not there.
	f.Directory.SetPassword(user, "pw")
	w := dialWire(t, addr)
	w.send("a1 LOGIN " + user + " pw")
	if l := w.line(); !strings.HasPrefix(l, "a1 OK ") {
		t.Fatalf("LOGIN: %q", l)
	}
	w.send("a2 SELECT Archive")
	for l := w.line(); !strings.HasPrefix(l, "a2 "); l = w.line() {
	}
	w.send("a3 UID MOVE 1 INBOX")
	w.expect("a3 BAD [CLIENTBUG] MOVE is not supported")
}

// A message appended while a client idles reaches it as EXISTS.
func TestIdleSeesAppend(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	exists := make(chan uint32, 8)
	c := f.loggedIn(t, f.listen(t, mailauth.Plain), &imapclient.Options{
		UnilateralDataHandler: &imapclient.UnilateralDataHandler{
			Mailbox: func(data *imapclient.UnilateralDataMailbox) {
				if data.NumMessages != nil {
					exists <- *data.NumMessages
				}
			},
		},
	})
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	idle, err := c.Idle()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Append(f.World.MSUser, "INBOX", testMessage("new mail")); err != nil {
		t.Fatal(err)
	}
	timer := time.NewTimer(ioTimeout)
	defer timer.Stop()
	select {
	case n := <-exists:
		if n != 1 {
			t.Errorf("EXISTS %d, want 1", n)
		}
	case <-timer.C:
		t.Fatal("no EXISTS during IDLE after Append")
	}
	if err := idle.Close(); err != nil {
		t.Fatal(err)
	}
	if err := idle.Wait(); err != nil {
		t.Errorf("IDLE: %v", err)
	}
}

// RenumberFolder keeps the messages but changes UIDVALIDITY, which is what
// a client must notice; RecreateFolder also empties the folder.
func TestUIDValidityChange(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	a, b := testMessage("kept one"), testMessage("kept two")
	if _, err := f.srv.Append(user, "INBOX", a, imap.FlagSeen); err != nil {
		t.Fatal(err)
	}
	if _, err := f.srv.Append(user, "INBOX", b); err != nil {
		t.Fatal(err)
	}
	before, err := f.srv.Messages(user, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	uv1, err := f.srv.UIDValidity(user, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	addr := f.listen(t, mailauth.Plain)
	sel, err := f.loggedIn(t, addr, nil).Select("INBOX", nil).Wait()
	if err != nil || sel.UIDValidity != uv1 {
		t.Fatalf("SELECT: UIDVALIDITY %v (%v), want %d", sel, err, uv1)
	}

	uv2, err := f.srv.RenumberFolder(user, "INBOX")
	if err != nil {
		t.Fatal(err)
	}
	if uv2 == uv1 {
		t.Fatalf("UIDVALIDITY stayed %d", uv1)
	}
	after := wantMessages(t, f.srv, user, "INBOX",
		Message{Raw: a, Flags: []imap.Flag{imap.FlagSeen}},
		Message{Raw: b, Flags: []imap.Flag{}})
	for i := range after {
		if !after[i].InternalDate.Equal(before[i].InternalDate) {
			t.Errorf("message %d: internal date %v, was %v", i, after[i].InternalDate, before[i].InternalDate)
		}
	}
	sel, err = f.loggedIn(t, addr, nil).Select("INBOX", nil).Wait()
	if err != nil || sel.UIDValidity != uv2 || sel.NumMessages != 2 {
		t.Fatalf("SELECT after renumbering: %+v (%v), want UIDVALIDITY %d and 2 messages", sel, err, uv2)
	}

	uv3, err := f.srv.RecreateFolder(user, "inbox")
	if err != nil {
		t.Fatal(err)
	}
	if uv3 == uv2 || uv3 == uv1 {
		t.Errorf("UIDVALIDITY %d after recreating, was %d and %d", uv3, uv1, uv2)
	}
	wantMessages(t, f.srv, user, "INBOX")
}

// Mailboxes and folders appear on demand; asking about ones that do not
// exist is an error, not an empty answer.
func TestMailboxesOnDemand(t *testing.T) {
	f := newFixture(t, provider.Google, Options{})
	if _, err := f.srv.Messages("nobody@gmail.example", "INBOX"); err == nil {
		t.Error("Messages of an unknown mailbox succeeded")
	}
	const mailbox = "Support.Team@Gmail.example"
	f.srv.AddMailbox(mailbox)
	if _, err := f.srv.Messages(mailbox, "Processed"); err == nil {
		t.Error("Messages of an unknown folder succeeded")
	}
	for _, folder := range []string{"INBOX", "[Gmail]/Trash", "[Gmail]/Sent Mail"} {
		if _, err := f.srv.UIDValidity(mailbox, folder); err != nil {
			t.Errorf("standard folder %q: %v", folder, err)
		}
	}
	m := testMessage("processed")
	if _, err := f.srv.Append(mailbox, "Processed", m); err != nil {
		t.Fatal(err)
	}
	// Addresses are case-insensitive.
	wantMessages(t, f.srv, strings.ToLower(mailbox), "Processed", Message{UID: 1, Raw: m, Flags: []imap.Flag{}})
}
