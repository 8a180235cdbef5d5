package smtpd

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"

	"github.com/emersion/go-smtp"
)

// delivered collects Deliver calls.
type delivered struct {
	mu    sync.Mutex
	rcpts []string
	raws  [][]byte
}

func (d *delivered) deliver(rcpt string, raw []byte) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.rcpts = append(d.rcpts, rcpt)
	d.raws = append(d.raws, raw)
}

// The server keeps what it accepted exactly: envelope, bytes (a dot-stuffed
// line unstuffed, CRLF kept), the authenticated mailbox, the time on the
// server's clock; and hands each recipient's copy to Deliver.
func TestReceived(t *testing.T) {
	var d delivered
	f := newFixture(t, provider.Microsoft, Options{Deliver: d.deliver})
	user := f.World.MSUser
	c := f.dial(t, f.listen(t, mailauth.RequireStartTLS), mailauth.RequireStartTLS)
	if size, ok := c.MaxMessageSize(); !ok || size != 157286400 {
		t.Errorf("SIZE %d, want Exchange Online's 157286400", size)
	}
	f.authenticate(t, c, provider.Microsoft, strings.ToUpper(user), user)
	msg := testMessage("exact bytes")
	to := []string{"customer@example.net", "Other@Example.net"}
	if err := send(c, user, to, msg); err != nil {
		t.Fatal(err)
	}

	got := f.srv.Received()
	if len(got) != 1 {
		t.Fatalf("Received() holds %d messages, want 1", len(got))
	}
	m := got[0]
	if m.From != user || !slices.Equal(m.To, to) || m.Mailbox != user || !m.Time.Equal(f.Clock.Now()) || m.Dropped {
		t.Errorf("Received()[0] = from %q to %q mailbox %q at %v dropped %v", m.From, m.To, m.Mailbox, m.Time, m.Dropped)
	}
	if !bytes.Equal(m.Raw, msg) {
		t.Errorf("Raw = %q, want %q", m.Raw, msg)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if !slices.Equal(d.rcpts, to) || len(d.raws) != 2 || !bytes.Equal(d.raws[0], msg) || !bytes.Equal(d.raws[1], msg) {
		t.Errorf("Deliver got %q with %d copies, want each recipient with the message", d.rcpts, len(d.raws))
	}
}

func TestMailBeforeAuth(t *testing.T) {
	for _, tc := range []struct {
		style    provider.Type
		code     smtp.EnhancedCode
		wantText string
	}{
		{provider.Microsoft, smtp.EnhancedCode{5, 7, 57}, "Client not authenticated to send mail."},
		{provider.Google, smtp.EnhancedCode{5, 7, 0}, "Authentication Required. Learn more at\n https://support.google.com/mail/?p=WantAuthError - gsmtp"},
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
			se := wantSMTPError(t, "MAIL before AUTH", c.Mail(f.user(tc.style), nil), 530, tc.code)
			if se.Message != tc.wantText {
				t.Errorf("reply text %q, want %q", se.Message, tc.wantText)
			}
		})
	}
}

// Exchange refuses, after DATA, a MAIL FROM the mailbox has no Send As
// right for; Gmail takes it.
func TestSendAs(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	w := f.World
	addr := f.listen(t, mailauth.Plain)
	c := f.dial(t, addr, mailauth.Plain)
	f.authenticate(t, c, provider.Microsoft, w.MSUser, w.MSUser)

	err := send(c, w.MSSharedMailbox, []string{"customer@example.net"}, testMessage("as the helpdesk"))
	se := wantSMTPError(t, "send as the shared mailbox", err, 554, smtp.EnhancedCode{5, 2, 252})
	want := "SendAsDenied; support@contoso.example not allowed to send as helpdesk@contoso.example;"
	if !strings.HasPrefix(se.Message, want) {
		t.Errorf("reply text %q, want it to start %q", se.Message, want)
	}
	if n := len(f.srv.Received()); n != 0 {
		t.Fatalf("%d messages recorded after SendAsDenied", n)
	}

	f.srv.GrantSendAs(w.MSSharedMailbox, w.MSUser)
	if err := send(c, w.MSSharedMailbox, []string{"customer@example.net"}, testMessage("as the helpdesk")); err != nil {
		t.Fatalf("send as the shared mailbox with Send As: %v", err)
	}

	g := newFixture(t, provider.Google, Options{})
	gc := g.dial(t, g.listen(t, mailauth.Plain), mailauth.Plain)
	g.authenticate(t, gc, provider.Google, g.World.GoogleUser, g.World.GoogleUser)
	if err := send(gc, "someone.else@example.net", []string{"customer@example.net"}, testMessage("as someone")); err != nil {
		t.Errorf("Gmail refused another MAIL FROM: %v", err)
	}
}

// Past RatePerMinute messages in a minute, MAIL gets a temporary 421 and
// the server hangs up; a minute later the mailbox may send again.
func TestThrottle(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{RatePerMinute: 2})
	user := f.World.MSUser
	addr := f.listen(t, mailauth.Plain)
	c := f.dial(t, addr, mailauth.Plain)
	f.authenticate(t, c, provider.Microsoft, user, user)
	for i := range 2 {
		if err := send(c, user, []string{"customer@example.net"}, testMessage("burst")); err != nil {
			t.Fatalf("message %d: %v", i+1, err)
		}
	}
	f.Clock.Advance(59 * time.Second)
	se := wantSMTPError(t, "third message within a minute", c.Mail(user, nil), 421, smtp.EnhancedCode{4, 4, 2})
	if se.Message != "Message submission rate for this client has exceeded the configured limit" || !se.Temporary() {
		t.Errorf("reply %q (temporary %v)", se.Message, se.Temporary())
	}
	if err := c.Noop(); err == nil {
		t.Error("connection still open after 421")
	}

	f.Clock.Advance(2 * time.Second) // the first two are now over a minute old
	c2 := f.dial(t, addr, mailauth.Plain)
	f.authenticate(t, c2, provider.Microsoft, user, user)
	if err := send(c2, user, []string{"customer@example.net"}, testMessage("later")); err != nil {
		t.Errorf("a minute later: %v", err)
	}
	if n := len(f.srv.Received()); n != 3 {
		t.Errorf("%d messages received, want 3", n)
	}
}

// A scripted recipient refusal hits that recipient only, until lifted.
func TestRejectRecipient(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	f.srv.RejectRecipient("Nobody@Contoso.example", 550, "5.1.10", "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup")
	f.srv.RejectRecipient("busy@example.net", 450, "4.2.1", "Mailbox busy, try again later")
	c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
	f.authenticate(t, c, provider.Microsoft, user, user)

	if err := c.Mail(user, nil); err != nil {
		t.Fatal(err)
	}
	se := wantSMTPError(t, "RCPT to a missing mailbox", c.Rcpt("nobody@contoso.example", nil), 550, smtp.EnhancedCode{5, 1, 10})
	if se.Message != "RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup" {
		t.Errorf("reply text %q", se.Message)
	}
	se = wantSMTPError(t, "RCPT to a busy mailbox", c.Rcpt("busy@example.net", nil), 450, smtp.EnhancedCode{4, 2, 1})
	if !se.Temporary() {
		t.Error("450 is not temporary")
	}
	if err := c.Rcpt("customer@example.net", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write(testMessage("partly delivered"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}

	f.srv.AcceptRecipient("busy@example.net")
	if err := send(c, user, []string{"busy@example.net"}, testMessage("retry")); err != nil {
		t.Fatalf("after AcceptRecipient: %v", err)
	}
	got := f.srv.Received()
	if len(got) != 2 || !slices.Equal(got[0].To, []string{"customer@example.net"}) || !slices.Equal(got[1].To, []string{"busy@example.net"}) {
		t.Errorf("Received() = %+v", got)
	}
}

// FailData fails the next N DATA transfers, after the whole message was
// sent, and keeps nothing of them.
func TestFailData(t *testing.T) {
	f := newFixture(t, provider.Google, Options{})
	user := f.World.GoogleUser
	f.srv.FailData(2, 451, "4.3.0", "Mail server temporarily rejected message.")
	c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
	f.authenticate(t, c, provider.Google, user, user)
	for i := range 2 {
		err := send(c, user, []string{"customer@example.net"}, testMessage("try"))
		se := wantSMTPError(t, "scripted DATA failure", err, 451, smtp.EnhancedCode{4, 3, 0})
		if se.Message != "Mail server temporarily rejected message." {
			t.Errorf("attempt %d: reply text %q", i+1, se.Message)
		}
	}
	if n := len(f.srv.Received()); n != 0 {
		t.Fatalf("%d messages recorded from failed DATA", n)
	}
	if err := send(c, user, []string{"customer@example.net"}, testMessage("try")); err != nil {
		t.Fatalf("third attempt: %v", err)
	}
	if n := len(f.srv.Received()); n != 1 {
		t.Errorf("%d messages recorded, want 1", n)
	}
}

// DropAfterData: the message arrives, the sender gets no reply, only a
// closed connection.
func TestDropAfterData(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	f.srv.DropAfterData(1)
	addr := f.listen(t, mailauth.Plain)

	ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
	defer cancel()
	waited := make(chan []Message, 1)
	go func() {
		msgs, _ := f.srv.WaitReceived(ctx, 1)
		waited <- msgs
	}()

	c := f.dial(t, addr, mailauth.Plain)
	f.authenticate(t, c, provider.Microsoft, user, user)
	err := send(c, user, []string{"customer@example.net"}, testMessage("lost reply"))
	var se *smtp.SMTPError
	if err == nil || errors.As(err, &se) {
		t.Fatalf("send = %v, want a connection error without a reply", err)
	}
	if msgs := <-waited; len(msgs) != 1 || !msgs[0].Dropped {
		t.Fatalf("WaitReceived = %+v, want the one message, marked Dropped", msgs)
	}

	c2 := f.dial(t, addr, mailauth.Plain)
	f.authenticate(t, c2, provider.Microsoft, user, user)
	if err := send(c2, user, []string{"customer@example.net"}, testMessage("lost reply")); err != nil {
		t.Fatalf("resend: %v", err)
	}
	if got := f.srv.Received(); len(got) != 2 || got[1].Dropped {
		t.Errorf("Received() = %+v, want the resent copy not dropped", got)
	}
}

func TestWaitReceivedGivesUp(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	msgs, err := f.srv.WaitReceived(ctx, 1)
	if !errors.Is(err, context.Canceled) || len(msgs) != 0 {
		t.Errorf("WaitReceived on a cancelled context = %v, %v", msgs, err)
	}
}

func TestMaxMessageBytes(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{MaxMessageBytes: 1024})
	user := f.World.MSUser
	c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
	if size, _ := c.MaxMessageSize(); size != 1024 {
		t.Errorf("SIZE %d, want 1024", size)
	}
	f.authenticate(t, c, provider.Microsoft, user, user)
	big := append(testMessage("big"), bytes.Repeat([]byte("0123456789abcdef\r\n"), 100)...)
	err := send(c, user, []string{"customer@example.net"}, big)
	wantSMTPError(t, "oversized message", err, 552, smtp.EnhancedCode{5, 3, 4})
}

func TestScriptPanicsOnMistakes(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	for _, tc := range []struct {
		code     int
		enhanced string
	}{{250, ""}, {550, "5.1"}, {550, "4.1.1"}, {450, "x.1.1"}} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("RejectRecipient with %d %q did not panic", tc.code, tc.enhanced)
				}
			}()
			f.srv.RejectRecipient("a@example.net", tc.code, tc.enhanced, "text")
		}()
	}
}
