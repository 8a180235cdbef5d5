package dovecot

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/sandbox/idp"
)

func TestIMAP(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})

	t.Run("XOAUTH2", func(t *testing.T) {
		c := dialIMAP(t, f.srv.IMAPAddr, nil)
		if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(f.user, f.token)); err != nil {
			t.Fatalf("XOAUTH2 login with a live token: %v\n%s", err, f.srv.Log())
		}
		if _, err := c.Select("INBOX", nil).Wait(); err != nil {
			t.Fatalf("select INBOX: %v", err)
		}
		if err := c.Logout().Wait(); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("OAUTHBEARER", func(t *testing.T) {
		c := dialIMAP(t, f.srv.IMAPAddr, nil)
		if err := c.Authenticate(oauthsasl.NewOAUTHBEARERClient(f.user, f.token, "127.0.0.1", 143)); err != nil {
			t.Fatalf("OAUTHBEARER login with a live token: %v\n%s", err, f.srv.Log())
		}
	})
	t.Run("the user's case does not matter", func(t *testing.T) {
		c := dialIMAP(t, f.srv.IMAPAddr, nil)
		if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(strings.ToUpper(f.user), f.token)); err != nil {
			t.Fatalf("XOAUTH2 login as %s: %v", strings.ToUpper(f.user), err)
		}
	})
	t.Run("token as the PLAIN password", func(t *testing.T) {
		c := dialIMAP(t, f.srv.IMAPAddr, nil)
		if err := c.Authenticate(sasl.NewPlainClient("", f.user, f.token)); err != nil {
			t.Fatalf("PLAIN login with the token as password: %v", err)
		}
	})
	t.Run("another user's token", func(t *testing.T) {
		c := dialIMAP(t, f.srv.IMAPAddr, nil)
		mech := oauthsasl.NewOAUTHBEARERClient(f.World.MSOtherUser, f.token, "127.0.0.1", 143)
		err := c.Authenticate(mech)
		wantRefused(t, err, mech.Failure(), imap.StatusResponseTypeNo, string(imap.ResponseCodeAuthenticationFailed))
	})
	t.Run("expired token", func(t *testing.T) {
		f.expire()
		// OAUTHBEARER answers the failure challenge with 0x01 and gets the
		// NO. go-imap/v2 sends XOAUTH2's empty answer as "=", which Dovecot
		// takes for bad base64 and ends the exchange with a BAD.
		for _, tc := range []struct {
			mech interface {
				sasl.Client
				Failure() *oauthsasl.Failure
			}
			typ  imap.StatusResponseType
			text string
		}{
			{oauthsasl.NewOAUTHBEARERClient(f.user, f.token, "127.0.0.1", 143), imap.StatusResponseTypeNo, string(imap.ResponseCodeAuthenticationFailed)},
			{oauthsasl.NewXOAUTH2Client(f.user, f.token), imap.StatusResponseTypeBad, "Invalid base64 data in continued response"},
		} {
			c := dialIMAP(t, f.srv.IMAPAddr, nil)
			start := time.Now()
			err := c.Authenticate(tc.mech)
			wantRefused(t, err, tc.mech.Failure(), tc.typ, tc.text)
			// ~0.5 s; the third failure in a row from 127.0.0.1 would wait
			// 4 s more with the auth penalty on. The margin is for loaded CI
			// machines.
			if d := time.Since(start); d > 4*time.Second {
				t.Errorf("the refusal took %v; is the auth penalty on?\n%s", d, f.srv.Log())
			}
			// The connection is still usable after the failure exchange.
			if err := c.Noop().Wait(); err != nil {
				t.Errorf("NOOP after the refusal: %v", err)
			}
		}
	})
}

// wantRefused checks an IMAP login was refused, with a status of typ whose
// code or text is want, after a failure challenge.
func wantRefused(t *testing.T, err error, failure *oauthsasl.Failure, typ imap.StatusResponseType, want string) {
	t.Helper()
	var imapErr *imap.Error
	if !errors.As(err, &imapErr) || imapErr.Type != typ || (string(imapErr.Code) != want && imapErr.Text != want) {
		t.Fatalf("login: got %v, want %s %s", err, typ, want)
	}
	if failure == nil {
		t.Fatalf("login refused without a failure challenge")
	}
}

func TestPOP3(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	login := func(t *testing.T, mech string, ir []byte) *wire {
		w := dialWire(t, f.srv.POP3Addr, nil)
		w.expectPrefix("+OK")
		w.send("AUTH " + mech)
		w.expect("+ ")
		w.send(b64(ir))
		return w
	}

	t.Run("XOAUTH2", func(t *testing.T) {
		w := login(t, "XOAUTH2", oauthsasl.XOAUTH2Response(f.user, f.token))
		w.expect("+OK Logged in.")
		w.send("STAT")
		w.expect("+OK 0 0")
		w.send("QUIT")
		w.expectPrefix("+OK")
	})
	t.Run("OAUTHBEARER", func(t *testing.T) {
		w := login(t, "OAUTHBEARER", oauthsasl.OAUTHBEARERResponse(f.user, "127.0.0.1", 110, f.token))
		w.expect("+OK Logged in.")
	})
	t.Run("wrong token", func(t *testing.T) {
		w := login(t, "XOAUTH2", oauthsasl.XOAUTH2Response(f.user, "not-a-token"))
		w.expect("+ " + b64([]byte(XOAUTH2Challenge)))
		w.send("")
		w.expect(POP3AuthFailed)
	})
}

func TestSubmission(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The message goes through with its odd parts intact: a line that
	// starts with a dot, a 990-octet line, 8-bit text, no Message-ID or
	// Date for Dovecot to be tempted to add.
	msg := []byte("From: Support <support@contoso.example>\r\n" +
		"To: a@example.net, b@example.net\r\n" +
		"Subject: relay test\r\n" +
		"X-Custom:   kept   as is\r\n" +
		"\r\n" +
		".a line that starts with a dot\r\n" +
		"..two dots\r\n" +
		strings.Repeat("x", 990) + "\r\n" +
		"grüße\r\n" +
		"\r\n" +
		"last line\r\n")
	rcpts := []string{"a@example.net", "B@Example.NET"}

	t.Run("XOAUTH2 and send", func(t *testing.T) {
		c := dialSMTP(t, f.srv.SubmissionAddr, nil)
		if err := c.Auth(laterIR{oauthsasl.NewXOAUTH2Client(f.user, f.token)}); err != nil {
			t.Fatalf("XOAUTH2 login with a live token: %v\n%s", err, f.srv.Log())
		}
		if err := c.SendMail(f.user, rcpts, bytes.NewReader(msg)); err != nil {
			t.Fatalf("send: %v\n%s", err, f.srv.Log())
		}
		got := f.srv.Sink.WaitMessages(ctx, t, 1)[0]
		if got.From != f.user || !slices.Equal(got.To, rcpts) || got.Helo != Hostname {
			t.Errorf("envelope: from %q to %q helo %q; want %q, %q, %q", got.From, got.To, got.Helo, f.user, rcpts, Hostname)
		}
		// With several recipients there is no "for <...>" and the date
		// follows the envelope-from on its line.
		received := regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n` +
			`\tby dovecot\.test with ESMTPA\r\n` +
			`\tid [A-Za-z0-9+/]{22}\r\n` +
			`\t\(envelope-from <support@contoso\.example>\); ` +
			`[A-Z][a-z]{2}, \d{1,2} [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d [+-]\d{4}\r\n`)
		loc := received.FindIndex(got.Data)
		if loc == nil {
			t.Fatalf("relayed message does not start with the expected Received header:\n%s", clip(got.Data))
		}
		if rest := got.Data[loc[1]:]; !bytes.Equal(rest, msg) {
			t.Errorf("relayed message after the Received header:\n%s\nwant\n%s", clip(rest), clip(msg))
		}
	})
	t.Run("single recipient", func(t *testing.T) {
		c := dialSMTP(t, f.srv.SubmissionAddr, nil)
		if err := c.Auth(laterIR{oauthsasl.NewOAUTHBEARERClient(f.user, f.token, "127.0.0.1", 587)}); err != nil {
			t.Fatalf("OAUTHBEARER login with a live token: %v", err)
		}
		if err := c.SendMail(f.user, []string{"one@example.net"}, strings.NewReader("Subject: one\r\n\r\nbody\r\n")); err != nil {
			t.Fatalf("send: %v", err)
		}
		got := f.srv.Sink.WaitMessages(ctx, t, 2)[1]
		want := regexp.MustCompile(`^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n` +
			`\tby dovecot\.test with ESMTPA\r\n\tid \S+\r\n\t\(envelope-from <support@contoso\.example>\)\r\n` +
			`\tfor <one@example\.net>; [^\r\n]+\r\nSubject: one\r\n\r\nbody\r\n$`)
		if !want.Match(got.Data) {
			t.Errorf("relayed message:\n%s", clip(got.Data))
		}
	})
	t.Run("initial response over 1024 bytes", func(t *testing.T) {
		// What go-smtp does by default; see laterIR.
		c := dialSMTP(t, f.srv.SubmissionAddr, nil)
		err := c.Auth(oauthsasl.NewXOAUTH2Client(f.user, f.token))
		var smtpErr *smtp.SMTPError
		if !errors.As(err, &smtpErr) || smtpErr.Code != 500 || smtpErr.Message != "Line too long" {
			t.Fatalf("AUTH with a %d-byte initial response: got %v, want 500 5.5.2 Line too long", len(f.token), err)
		}
	})
	t.Run("expired token", func(t *testing.T) {
		f.expire()
		c := dialSMTP(t, f.srv.SubmissionAddr, nil)
		mech := oauthsasl.NewXOAUTH2Client(f.user, f.token)
		err := c.Auth(laterIR{mech})
		var smtpErr *smtp.SMTPError
		if !errors.As(err, &smtpErr) || smtpErr.Code != 535 || smtpErr.EnhancedCode != (smtp.EnhancedCode{5, 7, 8}) {
			t.Fatalf("login with an expired token: got %v, want 535 5.7.8", err)
		}
		if mech.Failure() == nil || mech.Failure().Status != "401" {
			t.Errorf("failure challenge: got %+v, want status 401", mech.Failure())
		}
	})
}

// TestFailureOnTheWire pins the lines documented in doc.go, and shows that
// failures come promptly one after another and do not slow the next
// login down: the auth penalty is off.
func TestFailureOnTheWire(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	xoauth2Bad := b64(oauthsasl.XOAUTH2Response(f.user, "not-a-token"))
	bearerBad := b64(oauthsasl.OAUTHBEARERResponse(f.user, "127.0.0.1", 143, "not-a-token"))
	xoauth2Good := b64(oauthsasl.XOAUTH2Response(f.user, f.token))
	xoauth2Challenge := b64([]byte(XOAUTH2Challenge))
	bearerChallenge := b64([]byte(OAUTHBEARERChallenge))
	if xoauth2Challenge != "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIiwic2NvcGUiOiJtYWlsIn0=" ||
		bearerChallenge != "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=" {
		t.Fatal("doc.go quotes other challenges than the constants")
	}

	for _, tc := range []struct {
		name  string
		addr  string
		steps func(w *wire)
	}{
		{"IMAP", f.srv.IMAPAddr, func(w *wire) {
			w.expectPrefix("* OK ")
			w.send("a AUTHENTICATE XOAUTH2 " + xoauth2Bad)
			w.expect("+ " + xoauth2Challenge)
			w.send("")
			w.expect("a " + IMAPAuthFailed)
			w.send("b AUTHENTICATE OAUTHBEARER " + bearerBad)
			w.expect("+ " + bearerChallenge)
			w.send("AQ==")
			w.expect("b " + IMAPAuthFailed)
			w.send("c LOGIN " + f.user + " not-a-token")
			w.expect("c " + IMAPAuthFailed)
			// go-imap/v2's answer to XOAUTH2's challenge.
			w.send("e AUTHENTICATE XOAUTH2 " + xoauth2Bad)
			w.expect("+ " + xoauth2Challenge)
			w.send("=")
			w.expect("e BAD Invalid base64 data in continued response")
			w.send("d AUTHENTICATE XOAUTH2 " + xoauth2Good)
			w.expectPrefix("d OK [CAPABILITY ")
		}},
		{"POP3", f.srv.POP3Addr, func(w *wire) {
			w.expectPrefix("+OK ")
			w.send("AUTH XOAUTH2")
			w.expect("+ ")
			w.send(xoauth2Bad)
			w.expect("+ " + xoauth2Challenge)
			w.send("")
			w.expect(POP3AuthFailed)
			w.send("AUTH OAUTHBEARER")
			w.expect("+ ")
			w.send(bearerBad)
			w.expect("+ " + bearerChallenge)
			w.send("AQ==")
			w.expect(POP3AuthFailed)
			w.send("USER " + f.user)
			w.expectPrefix("+OK")
			w.send("PASS not-a-token")
			w.expect(POP3AuthFailed)
			w.send("AUTH XOAUTH2")
			w.expect("+ ")
			w.send(xoauth2Bad)
			w.expect("+ " + xoauth2Challenge)
			w.send("=")
			w.expect("-ERR [AUTH] Invalid base64 data in continued response")
			w.send("AUTH XOAUTH2")
			w.expect("+ ")
			w.send(xoauth2Good)
			w.expect("+OK Logged in.")
		}},
		{"submission", f.srv.SubmissionAddr, func(w *wire) {
			w.ehlo()
			w.send("AUTH XOAUTH2 " + xoauth2Bad)
			w.expect("334 " + xoauth2Challenge)
			w.send("")
			w.expect(SMTPAuthFailed)
			w.send("AUTH OAUTHBEARER " + bearerBad)
			w.expect("334 " + bearerChallenge)
			w.send("AQ==")
			w.expect(SMTPAuthFailed)
			w.send("AUTH PLAIN " + b64([]byte("\x00"+f.user+"\x00not-a-token")))
			w.expect(SMTPAuthFailed)
			w.send("AUTH XOAUTH2 " + xoauth2Bad)
			w.expect("334 " + xoauth2Challenge)
			w.send("=")
			w.expect("501 5.5.2 Invalid base64 data in continued response")
			w.send("AUTH XOAUTH2")
			w.expect("334 ")
			w.send(xoauth2Good)
			w.expect("235 2.7.0 Logged in.")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			start := time.Now()
			tc.steps(dialWire(t, tc.addr, nil))
			// Four or five failures at up to ~0.5 s each and a success take
			// under 2 s. With the penalty on, the second failure alone would
			// wait 2 s more, the third 4 s and the fourth 8 s. The margin is
			// for loaded CI machines.
			if d := time.Since(start); d > 10*time.Second {
				t.Errorf("three failures and a login took %v; is the auth penalty on?\n%s", d, f.srv.Log())
			}
		})
	}
}

func TestIntrospectionDown(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	f.IDP.InjectFault(idp.Fault{Kind: idp.FaultStatus500, Path: "/introspect"})
	ir := b64(oauthsasl.XOAUTH2Response(f.user, f.token))
	// The bracketed part holds the machine's hostname, whatever it is.
	suffix := regexp.MustCompile(` \[[^:\]]+:\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\]$`)
	check := func(t *testing.T, line, want string) {
		t.Helper()
		if !strings.HasPrefix(line, want) || !suffix.MatchString(line) {
			t.Errorf("got %q, want %q followed by [host:time]", line, want)
		}
	}

	t.Run("IMAP", func(t *testing.T) {
		w := dialWire(t, f.srv.IMAPAddr, nil)
		w.expectPrefix("* OK ")
		w.send("a AUTHENTICATE XOAUTH2 " + ir)
		check(t, w.recv(), "a "+IMAPTempFailed)
	})
	t.Run("POP3", func(t *testing.T) {
		w := dialWire(t, f.srv.POP3Addr, nil)
		w.expectPrefix("+OK ")
		w.send("AUTH XOAUTH2")
		w.expect("+ ")
		w.send(ir)
		check(t, w.recv(), POP3TempFailed)
	})
	t.Run("submission", func(t *testing.T) {
		w := dialWire(t, f.srv.SubmissionAddr, nil)
		w.ehlo()
		w.send("AUTH XOAUTH2")
		w.expect("334 ")
		w.send(ir)
		check(t, w.recv(), SMTPTempFailed)
	})
}

func TestPasswords(t *testing.T) {
	t.Parallel()
	const pwUser, password = "Robot@Contoso.Example", "p:ss word ü"
	f := newFixture(t, Options{Passwords: map[string]string{pwUser: password}})

	c := dialIMAP(t, f.srv.IMAPAddr, nil)
	if err := c.Login(strings.ToLower(pwUser), password).Wait(); err != nil {
		t.Fatalf("LOGIN with the password: %v\n%s", err, f.srv.Log())
	}
	c = dialIMAP(t, f.srv.IMAPAddr, nil)
	if err := c.Authenticate(sasl.NewPlainClient("", pwUser, password)); err != nil {
		t.Fatalf("PLAIN with the password: %v", err)
	}
	c = dialIMAP(t, f.srv.IMAPAddr, nil)
	if err := c.Login(pwUser, "wrong").Wait(); err == nil {
		t.Fatal("LOGIN with a wrong password succeeded")
	}
	// The token passdb still serves everyone else, PLAIN included.
	c = dialIMAP(t, f.srv.IMAPAddr, nil)
	if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(f.user, f.token)); err != nil {
		t.Fatalf("XOAUTH2 next to a password passdb: %v", err)
	}
	c = dialIMAP(t, f.srv.IMAPAddr, nil)
	if err := c.Authenticate(sasl.NewPlainClient("", f.user, f.token)); err != nil {
		t.Fatalf("PLAIN with a token as password next to a password passdb: %v", err)
	}
	// But not LOGIN: imap-login's input buffer holds 1 KiB, and a JWT does
	// not fit, not even as a literal.
	w := dialWire(t, f.srv.IMAPAddr, nil)
	w.expectPrefix("* OK ")
	w.send(fmt.Sprintf("a LOGIN %s {%d}", f.user, len(f.token)))
	w.expectPrefix("+ ")
	w.send(f.token)
	w.expect("* BYE Input buffer full, aborting")
	s := dialSMTP(t, f.srv.SubmissionAddr, nil)
	if err := s.Auth(sasl.NewPlainClient("", pwUser, password)); err != nil {
		t.Fatalf("submission PLAIN with the password: %v", err)
	}
}

func TestDeliverAndMailbox(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	first := []byte("From: a@example.net\r\nSubject: first\r\n\r\nhello\r\n")
	// Bare LFs, a form feed (doveadm's record separator) and no final
	// newline: Mailbox must still split messages right.
	second := []byte("Subject: second\n\n\fline\n\f\nno final newline")
	secondStored := []byte("Subject: second\r\n\r\n\fline\r\n\f\r\nno final newline")
	f.srv.Deliver(t, "Support@Contoso.Example", first)
	f.srv.Deliver(t, f.user, second)
	f.srv.DeliverTo(t, f.user, "Sent", []byte("Subject: sent\r\n\r\nx\r\n"))

	got := f.srv.Mailbox(t, f.user, "INBOX")
	if len(got) != 2 || got[0].UID != 1 || got[1].UID != 2 ||
		!bytes.Equal(got[0].Data, first) || !bytes.Equal(got[1].Data, secondStored) || len(got[0].Flags) != 0 {
		t.Fatalf("INBOX: %s", describe(got))
	}
	if sent := f.srv.Mailbox(t, f.user, "Sent"); len(sent) != 1 {
		t.Errorf("Sent: %s", describe(sent))
	}
	if none := f.srv.Mailbox(t, f.user, "No Such Folder"); len(none) != 0 {
		t.Errorf("a missing folder: %s", describe(none))
	}
	if other := f.srv.Mailbox(t, f.World.MSOtherUser, "INBOX"); len(other) != 0 {
		t.Errorf("another user's INBOX: %s", describe(other))
	}

	// What IMAP serves is what Mailbox reads, and flags set over IMAP show.
	c := dialIMAP(t, f.srv.IMAPAddr, nil)
	if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(f.user, f.token)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	msgs, err := c.Fetch(imap.UIDSetNum(1, 2), &imap.FetchOptions{
		UID: true, BodySection: []*imap.FetchItemBodySection{{Peek: true}},
	}).Collect()
	if err != nil {
		t.Fatal(err)
	}
	for i, m := range msgs {
		if body := m.FindBodySection(&imap.FetchItemBodySection{Peek: true}); !bytes.Equal(body, got[i].Data) {
			t.Errorf("UID %d: IMAP BODY[] %s, Mailbox %s", m.UID, clip(body), clip(got[i].Data))
		}
	}
	if err := c.Store(imap.UIDSetNum(2), &imap.StoreFlags{
		Op: imap.StoreFlagsAdd, Flags: []imap.Flag{imap.FlagSeen, "$Forwarded"}, Silent: true,
	}, nil).Close(); err != nil {
		t.Fatal(err)
	}
	got = f.srv.Mailbox(t, f.user, "INBOX")
	if want := []string{`\Seen`, "$Forwarded"}; !slices.Equal(got[1].Flags, want) {
		t.Errorf("flags after STORE: %q, want %q", got[1].Flags, want)
	}
}

func TestTLS(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{TLS: true})
	tc := f.srv.TLSConfig()
	if f.srv.IMAPSAddr == "" || f.srv.POP3SAddr == "" || f.srv.SubmissionsAddr == "" || f.srv.CAFile == "" {
		t.Fatalf("TLS listeners missing: %+v", f.srv)
	}

	t.Run("IMAPS", func(t *testing.T) {
		c := dialIMAP(t, f.srv.IMAPSAddr, tc)
		if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(f.user, f.token)); err != nil {
			t.Fatalf("XOAUTH2 over IMAPS: %v", err)
		}
	})
	t.Run("IMAP STARTTLS", func(t *testing.T) {
		c, err := imapclient.DialStartTLS(f.srv.IMAPAddr, &imapclient.Options{TLSConfig: tc})
		if err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		defer c.Close()
		if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(f.user, f.token)); err != nil {
			t.Fatalf("XOAUTH2 after STARTTLS: %v", err)
		}
	})
	t.Run("POP3S", func(t *testing.T) {
		w := dialWire(t, f.srv.POP3SAddr, tc)
		w.expectPrefix("+OK ")
		w.send("AUTH XOAUTH2")
		w.expect("+ ")
		w.send(b64(oauthsasl.XOAUTH2Response(f.user, f.token)))
		w.expect("+OK Logged in.")
	})
	t.Run("POP3 STLS", func(t *testing.T) {
		w := dialWire(t, f.srv.POP3Addr, nil)
		w.expectPrefix("+OK ")
		w.send("STLS")
		w.expectPrefix("+OK ")
	})
	t.Run("submissions", func(t *testing.T) {
		c := dialSMTP(t, f.srv.SubmissionsAddr, tc)
		if err := c.Auth(laterIR{oauthsasl.NewXOAUTH2Client(f.user, f.token)}); err != nil {
			t.Fatalf("XOAUTH2 over implicit TLS: %v", err)
		}
		if err := c.SendMail(f.user, []string{"x@example.net"}, strings.NewReader("Subject: tls\r\n\r\nx\r\n")); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		got := f.srv.Sink.WaitMessages(ctx, t, 1)[0]
		if !bytes.Contains(got.Data, []byte("\tby dovecot.test with ESMTPSA\r\n")) {
			t.Errorf("relayed over TLS:\n%s", clip(got.Data))
		}
	})
	t.Run("submission STARTTLS", func(t *testing.T) {
		c, err := smtp.DialStartTLS(f.srv.SubmissionAddr, tc)
		if err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
		defer c.Close()
		if err := c.Auth(laterIR{oauthsasl.NewXOAUTH2Client(f.user, f.token)}); err != nil {
			t.Fatalf("XOAUTH2 after STARTTLS: %v", err)
		}
	})
}

// TestTwoInstances runs a second instance next to the first in the same
// test binary: own ports, own mail, both serving.
func TestTwoInstances(t *testing.T) {
	t.Parallel()
	f := newFixture(t, Options{})
	// Debug on, to check the settings it adds are valid.
	other := Start(t, Options{IntrospectionURL: f.IDP.URL() + "/introspect", Debug: true})
	if other.IMAPAddr == f.srv.IMAPAddr || other.Dir == f.srv.Dir || other.Sink.Addr == f.srv.Sink.Addr {
		t.Fatalf("instances share addresses or directories: %s %s", other.IMAPAddr, f.srv.IMAPAddr)
	}
	f.srv.Deliver(t, f.user, []byte("Subject: one\r\n\r\n1\r\n"))
	for i, s := range []*Server{f.srv, other} {
		c := dialIMAP(t, s.IMAPAddr, nil)
		if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(f.user, f.token)); err != nil {
			t.Fatalf("instance %d: %v", i, err)
		}
		data, err := c.Select("INBOX", nil).Wait()
		if err != nil {
			t.Fatal(err)
		}
		if want := uint32(1 - i); data.NumMessages != want {
			t.Errorf("instance %d: INBOX holds %d messages, want %d", i, data.NumMessages, want)
		}
		// A setting Dovecot finds questionable is a warning in its log.
		for _, line := range strings.Split(s.Log(), "\n") {
			if strings.Contains(line, "Warning") || strings.Contains(line, "Error") {
				t.Errorf("instance %d logged: %s", i, line)
			}
		}
	}
}

// TestFreePortsDistinct: the listeners of one instance need distinct
// ports, so freePorts holds all of them open until it has picked the last.
func TestFreePortsDistinct(t *testing.T) {
	ports, err := freePorts(6)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] || p == 0 {
			t.Fatalf("ports %v", ports)
		}
		seen[p] = true
	}
}

func TestPasswdFile(t *testing.T) {
	got, err := passwdFile(map[string]string{"B@x.test": "p:w\n", "a@x.test": ""})
	if err != nil {
		t.Fatal(err)
	}
	want := "a@x.test:{PLAIN.b64}\nb@x.test:{PLAIN.b64}cDp3Cg==\n"
	if string(got) != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, bad := range []string{"", "a:b", "a b", "a\nb"} {
		if _, err := passwdFile(map[string]string{bad: "x"}); err == nil {
			t.Errorf("user %q accepted", bad)
		}
	}
}

// TestStartRetriesTakenPort: a port another process takes between the pick
// and the program's bind costs a retry, not the test.
func TestStartRetriesTakenPort(t *testing.T) {
	// Not parallel: it replaces pickPorts.
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	calls := 0
	pickPorts = func(n int) ([]int, error) {
		calls++
		ports, err := freePorts(n)
		if err == nil && calls == 1 {
			ports[0] = taken.Addr().(*net.TCPAddr).Port
		}
		return ports, err
	}
	t.Cleanup(func() { pickPorts = freePorts })

	sink := StartSink(t)
	if calls != 2 || sink.Addr == taken.Addr().String() {
		t.Errorf("smtp-sink: %d port picks, listening on %s", calls, sink.Addr)
	}
	calls = 0
	srv := Start(t, Options{IntrospectionURL: "http://127.0.0.1:9/introspect", RelayHost: sink.Addr})
	if calls != 2 || srv.IMAPAddr == taken.Addr().String() {
		t.Errorf("dovecot: %d port picks, IMAP on %s", calls, srv.IMAPAddr)
	}
	w := dialWire(t, srv.IMAPAddr, nil)
	w.expectPrefix("* OK ")
}
