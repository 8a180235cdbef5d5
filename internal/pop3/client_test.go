package pop3_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/pop3"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
)

// local is what Retr returns for a message sent with CRLF: DotReader hands
// lines over with "\n".
func local(wire string) string { return strings.ReplaceAll(wire, "\r\n", "\n") }

func readAll(t *testing.T, rc io.ReadCloser, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// Messages that exercise what POP3 framing gets wrong: a line that is only
// ".", lines starting with dots, a bare-LF message, an empty body, a message
// without a final line break.
var testMessages = []string{
	"From: a@example.test\r\nSubject: one\r\n\r\nHello.\r\n.\r\n..\r\n.x\r\nbye\r\n",
	"From: b@example.test\nSubject: bare LF\n\n.starts with a dot\nend\n",
	"Subject: no body\r\n\r\n",
	"Subject: no final line break\r\n\r\nlast line",
}

// onTheWire is the message as the server sends and counts it: CRLF, and a
// final CRLF added where missing.
func onTheWire(msg string) string {
	msg = strings.ReplaceAll(strings.ReplaceAll(msg, "\r\n", "\n"), "\n", "\r\n")
	if !strings.HasSuffix(msg, "\r\n") {
		msg += "\r\n"
	}
	return msg
}

// TestSessionEveryMode logs in with USER/PASS over each way of securing the
// connection and checks every TRANSACTION command against what was added.
func TestSessionEveryMode(t *testing.T) {
	for _, style := range []provider.Type{provider.Microsoft, provider.Google} {
		for _, mode := range []mailauth.Mode{mailauth.Plain, mailauth.ImplicitTLS, mailauth.StartTLS, mailauth.RequireStartTLS} {
			t.Run(string(style)+"/"+mode.String(), func(t *testing.T) {
				t.Parallel()
				f := newFixture(t, style)
				addr := f.listen(t, mode)
				var uids []string
				var total int64
				for _, m := range testMessages {
					uids = append(uids, f.srv.Add(pwUser, []byte(m)))
					total += int64(len(onTheWire(m)))
				}

				c := dial(t, addr, mode)
				if mode == mailauth.StartTLS || mode == mailauth.RequireStartTLS {
					_, cfg := testTLS(t)
					if err := c.StartTLS(cfg); err != nil {
						t.Fatal(err)
					}
				}
				if got := c.IsTLS(); got != (mode != mailauth.Plain) {
					t.Errorf("IsTLS() = %v", got)
				}
				if err := c.User(pwUser, pwPassword); err != nil {
					t.Fatal(err)
				}

				count, size, err := c.Stat()
				if err != nil || count != len(testMessages) || size != total {
					t.Errorf("Stat() = %d, %d, %v; want %d, %d", count, size, err, len(testMessages), total)
				}
				sizes, err := c.List()
				if err != nil {
					t.Fatal(err)
				}
				ids, err := c.UIDL()
				if err != nil {
					t.Fatal(err)
				}
				for i, m := range testMessages {
					if want := (pop3.MessageSize{Num: i + 1, Size: int64(len(onTheWire(m)))}); sizes[i] != want {
						t.Errorf("List()[%d] = %+v, want %+v", i, sizes[i], want)
					}
					if want := (pop3.MessageID{Num: i + 1, UID: uids[i]}); ids[i] != want {
						t.Errorf("UIDL()[%d] = %+v, want %+v", i, ids[i], want)
					}
					rc, err := c.Retr(i + 1)
					if got, want := readAll(t, rc, err), local(onTheWire(m)); got != want {
						t.Errorf("Retr(%d) = %q, want %q", i+1, got, want)
					}
				}
				if err := c.Quit(); err != nil {
					t.Fatal(err)
				}
				if got := f.srv.Stats().Mailbox(pwUser); got.Logins != 1 || got.Retrs != len(testMessages) {
					t.Errorf("server counted %+v", got)
				}
			})
		}
	}
}

func TestTop(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	f.srv.Add(pwUser, []byte("Subject: top\r\nX-A: 1\r\n\r\nline 1\r\n.line 2\r\nline 3\r\n"))
	c := loggedIn(t, addr)
	for _, tc := range []struct {
		lines int
		want  string
	}{
		{0, "Subject: top\nX-A: 1\n\n"},
		{2, "Subject: top\nX-A: 1\n\nline 1\n.line 2\n"},
		{9, "Subject: top\nX-A: 1\n\nline 1\n.line 2\nline 3\n"},
	} {
		rc, err := c.Top(1, tc.lines)
		if got := readAll(t, rc, err); got != tc.want {
			t.Errorf("Top(1, %d) = %q, want %q", tc.lines, got, tc.want)
		}
	}
}

// TestUIDsStayAcrossSessions: the worker recognises a message it delivered
// before by its UID, so the UID must not change between sessions, even
// when other messages go.
func TestUIDsStayAcrossSessions(t *testing.T) {
	f, addr := plainServer(t, provider.Microsoft)
	for _, m := range testMessages {
		f.srv.Add(pwUser, []byte(m))
	}
	c := loggedIn(t, addr)
	before, err := c.UIDL()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Dele(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	c = loggedIn(t, addr)
	after, err := c.UIDL()
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before)-1 {
		t.Fatalf("after deleting one: %v", after)
	}
	for i, id := range after {
		if id.UID != before[i+1].UID || id.Num != i+1 {
			t.Errorf("UIDL after = %v, before = %v", after, before)
		}
	}
}

func TestDeleQuitRemoves(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	var uids []string
	for _, m := range testMessages[:3] {
		uids = append(uids, f.srv.Add(pwUser, []byte(m)))
	}
	c := loggedIn(t, addr)
	if err := c.Dele(2); err != nil {
		t.Fatal(err)
	}
	// A deleted message is gone from the session's listings at once...
	if count, _, err := c.Stat(); err != nil || count != 2 {
		t.Errorf("Stat() after DELE = %d, %v", count, err)
	}
	var perr *pop3.Error
	if _, err := c.Retr(2); !errors.As(err, &perr) {
		t.Errorf("Retr of a deleted message: %v, want *pop3.Error", err)
	}
	// ... but from the server only after QUIT.
	if got := len(f.srv.Messages(pwUser)); got != 3 {
		t.Errorf("before QUIT the server holds %d messages, want 3", got)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, m := range f.srv.Messages(pwUser) {
		left = append(left, m.UID)
	}
	if want := []string{uids[0], uids[2]}; !slices.Equal(left, want) {
		t.Errorf("after QUIT the server holds %v, want %v", left, want)
	}
	if got := f.srv.Stats().Mailbox(pwUser).Deleted; got != 1 {
		t.Errorf("Stats Deleted = %d", got)
	}
}

func TestRsetUndoesDele(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	f.srv.Add(pwUser, []byte(testMessages[0]))
	c := loggedIn(t, addr)
	if err := c.Dele(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Rset(); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Fatal(err)
	}
	if got := len(f.srv.Messages(pwUser)); got != 1 {
		t.Errorf("after DELE, RSET, QUIT the server holds %d messages, want 1", got)
	}
}

// loginAgain logs in once the server has noticed that the last session
// ended: until then the maildrop is locked and the login gets [IN-USE].
// The new session proves the old one is over, so what it sees is final.
func loginAgain(t *testing.T, addr string) *pop3.Client {
	t.Helper()
	deadline := time.Now().Add(testTimeout)
	for {
		c := dial(t, addr, mailauth.Plain)
		err := c.User(pwUser, pwPassword)
		if err == nil {
			return c
		}
		var perr *pop3.Error
		if !errors.As(err, &perr) || perr.Code != pop3.CodeInUse || time.Now().After(deadline) {
			t.Fatal(err)
		}
		_ = c.Close()
		time.Sleep(10 * time.Millisecond) // polling the server: nothing to wait on
	}
}

// TestDeleThenDroppedConnectionRemovesNothing is the durability rule: a
// message marked but not committed by QUIT stays on the server.
func TestDeleThenDroppedConnectionRemovesNothing(t *testing.T) {
	f, addr := plainServer(t, provider.Microsoft)
	for _, m := range testMessages[:2] {
		f.srv.Add(pwUser, []byte(m))
	}
	c := loggedIn(t, addr)
	for n := 1; n <= 2; n++ {
		if err := c.Dele(n); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	c = loginAgain(t, addr)
	if count, _, err := c.Stat(); err != nil || count != 2 {
		t.Errorf("Stat() in the next session = %d, %v; want 2 messages", count, err)
	}
	if got := f.srv.Stats().Mailbox(pwUser).Deleted; got != 0 {
		t.Errorf("server deleted %d messages", got)
	}
}

// TestRetrCutOff: a connection that breaks in the middle of a message must
// not look like the end of a (short) message, and must delete nothing.
func TestRetrCutOff(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	f.srv.Add(pwUser, []byte("Subject: long\r\n\r\n"+strings.Repeat("a line of the body\r\n", 500)))
	f.srv.Add(pwUser, []byte(testMessages[0]))
	c := loggedIn(t, addr)
	if err := c.Dele(2); err != nil {
		t.Fatal(err)
	}
	f.srv.DropAfter(1)
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(rc)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a cut-off message: %v, want io.ErrUnexpectedEOF", err)
	}
	if len(got) == 0 || len(got) > 6000 {
		t.Errorf("read %d bytes before the cut", len(got))
	}
	if err := rc.Close(); err != nil {
		t.Errorf("Close after the cut: %v", err)
	}
	if err := c.Noop(); err == nil {
		t.Error("Noop after a broken connection succeeded")
	}
	if err := c.Quit(); err == nil {
		t.Error("Quit after a broken connection succeeded: it must not claim the deletion happened")
	}
	c = loginAgain(t, addr)
	if count, _, err := c.Stat(); err != nil || count != 2 {
		t.Errorf("Stat() in the next session = %d, %v; want both messages still there", count, err)
	}
}

// TestBodyCloseDrains: a worker that stops reading a message half-way (say,
// because delivery failed) can close it and go on using the connection.
func TestBodyCloseDrains(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	f.srv.Add(pwUser, []byte("Subject: a\r\n\r\n"+strings.Repeat("x", 100000)+"\r\n"))
	f.srv.Add(pwUser, []byte(testMessages[0]))
	c := loggedIn(t, addr)
	rc, err := c.Retr(1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadFull(rc, make([]byte, 10)); err != nil {
		t.Fatal(err)
	}
	if err := c.Noop(); !errors.Is(err, pop3.ErrBodyOpen) {
		t.Errorf("Noop with an open body: %v, want ErrBodyOpen", err)
	}
	if err := rc.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := rc.Read(make([]byte, 1)); err == nil {
		t.Error("Read after Close succeeded")
	}
	rc, err = c.Retr(2)
	if got := readAll(t, rc, err); got != local(testMessages[0]) {
		t.Errorf("next Retr = %q", got)
	}
	// Quit reads a body left open to its end before QUIT.
	if _, err := c.Retr(1); err != nil {
		t.Fatal(err)
	}
	if err := c.Quit(); err != nil {
		t.Errorf("Quit with an open body: %v", err)
	}
}

func TestInUse(t *testing.T) {
	for _, style := range []provider.Type{provider.Microsoft, provider.Google} {
		t.Run(string(style), func(t *testing.T) {
			t.Parallel()
			f, addr := plainServer(t, style)
			first := loggedIn(t, addr)
			second := dial(t, addr, mailauth.Plain)
			err := second.User(pwUser, pwPassword)
			var perr *pop3.Error
			if !errors.As(err, &perr) || perr.Code != pop3.CodeInUse || !perr.Temporary() {
				t.Fatalf("second login: %v, want a temporary [IN-USE] *pop3.Error", err)
			}
			if got := f.srv.Stats().Mailbox(pwUser); got.InUse != 1 || got.AuthFailures != 0 {
				t.Errorf("server counted %+v", got)
			}
			if err := first.Quit(); err != nil {
				t.Fatal(err)
			}
			loginAgain(t, addr)
		})
	}
}

func TestUserPassRefused(t *testing.T) {
	for _, tc := range []struct {
		style provider.Type
		msg   string
		code  string
	}{
		{provider.Microsoft, "Logon failure: unknown user name or bad password.", ""},
		{provider.Google, "[AUTH] Username and password not accepted.", pop3.CodeAuth},
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			t.Parallel()
			_, addr := plainServer(t, tc.style)
			c := dial(t, addr, mailauth.Plain)
			const wrong = "wrong-password-Zq81"
			err := c.User(pwUser, wrong)
			var perr *pop3.Error
			if !errors.As(err, &perr) || perr.Command != "PASS" || perr.Message != tc.msg || perr.Code != tc.code {
				t.Fatalf("User with a wrong password: %#v", err)
			}
			if strings.Contains(err.Error(), wrong) {
				t.Errorf("the error shows the password: %v", err)
			}
			// Still in AUTHORIZATION: the right password works.
			if err := c.User(pwUser, pwPassword); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestAuthXOAUTH2(t *testing.T) {
	for _, tc := range []struct {
		name     string
		style    provider.Type
		provider provider.Type
		owner    func(idp.World) string // whose token
		mailbox  func(idp.World) string // user= and the maildrop
	}{
		{"microsoft", provider.Microsoft, provider.Microsoft,
			func(w idp.World) string { return w.MSUser }, func(w idp.World) string { return w.MSUser }},
		{"microsoft shared mailbox", provider.Microsoft, provider.Microsoft,
			func(w idp.World) string { return w.MSUser }, func(w idp.World) string { return w.MSSharedMailbox }},
		{"google", provider.Google, provider.Google,
			func(w idp.World) string { return w.GoogleUser }, func(w idp.World) string { return w.GoogleUser }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.style)
			addr := f.listen(t, mailauth.ImplicitTLS)
			mailbox := tc.mailbox(f.w)
			f.srv.Add(mailbox, []byte(testMessages[0]))
			tok := f.token(t, tc.provider, tc.owner(f.w))

			c := dial(t, addr, mailauth.ImplicitTLS)
			caps, err := c.Capabilities(context.Background())
			if err != nil || !slices.Contains(pop3.SASLMechanisms(caps), "XOAUTH2") {
				t.Fatalf("Capabilities() = %q, %v; want SASL with XOAUTH2", caps, err)
			}
			if err := c.Auth(oauthsasl.NewXOAUTH2Client(mailbox, tok)); err != nil {
				t.Fatal(err)
			}
			rc, err := c.Retr(1)
			if got := readAll(t, rc, err); got != local(testMessages[0]) {
				t.Errorf("Retr(1) = %q", got)
			}
			if err := c.Quit(); err != nil {
				t.Fatal(err)
			}
			if got := f.srv.Stats().Mailbox(mailbox).Logins; got != 1 {
				t.Errorf("server counted %d logins to %s", got, mailbox)
			}
		})
	}
}

func TestAuthOAUTHBEARERAtGoogle(t *testing.T) {
	f := newFixture(t, provider.Google)
	addr := f.listen(t, mailauth.ImplicitTLS)
	tok := f.token(t, provider.Google, f.w.GoogleUser)
	c := dial(t, addr, mailauth.ImplicitTLS)
	if err := c.Auth(oauthsasl.NewOAUTHBEARERClient(f.w.GoogleUser, tok, "127.0.0.1", 995)); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.Stat(); err != nil {
		t.Fatal(err)
	}
}

// TestAuthRefused checks both ways a token is refused. The client's timeout
// is short and the check is that it gets the server's *pop3.Error, not a
// timeout: a client that did not answer Gmail's failure challenge would sit
// waiting for a -ERR that never comes.
func TestAuthRefused(t *testing.T) {
	for _, tc := range []struct {
		style      provider.Type
		msg, code  string
		answers    []string // what the server got back to a failure challenge
		hasFailure bool
	}{
		{provider.Microsoft, "Authentication failure: unknown user name or bad password.", "", nil, false},
		{provider.Google, "[AUTH] Username and password not accepted.", pop3.CodeAuth, []string{""}, true},
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, tc.style)
			addr := f.listen(t, mailauth.ImplicitTLS)
			user, typ := f.w.MSUser, provider.Microsoft
			if tc.style == provider.Google {
				user, typ = f.w.GoogleUser, provider.Google
			}
			_, cfg := testTLS(t)
			c, err := pop3.Dial(context.Background(), addr, cfg, 3*time.Second)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()

			const dead = "dead-token-QmFkVG9rZW4"
			mech := oauthsasl.NewXOAUTH2Client(user, dead)
			err = c.Auth(mech)
			var perr *pop3.Error
			if !errors.As(err, &perr) || perr.Command != "AUTH XOAUTH2" || perr.Message != tc.msg || perr.Code != tc.code {
				t.Fatalf("Auth with a dead token: %v, want the server's -ERR %q", err, tc.msg)
			}
			if strings.Contains(err.Error(), dead) {
				t.Errorf("the error shows the token: %v", err)
			}
			if got := f.srv.Stats().ChallengeAnswers; !slices.Equal(got, tc.answers) {
				t.Errorf("server got %q in answer to its failure challenge, want %q", got, tc.answers)
			}
			if got := mech.Failure(); (got != nil) != tc.hasFailure || got != nil && got.Status != "400" {
				t.Errorf("Failure() = %+v", got)
			}
			if got := f.srv.Stats().Mailbox(user).AuthFailures; got != 1 {
				t.Errorf("server counted %d failures", got)
			}
			// The session is still in AUTHORIZATION: a live token works.
			if err := c.Auth(oauthsasl.NewXOAUTH2Client(user, f.token(t, typ, user))); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestSharedMailboxWithoutAccess: a token whose owner has no full access to
// the mailbox in user= is refused.
func TestSharedMailboxWithoutAccess(t *testing.T) {
	f := newFixture(t, provider.Microsoft)
	addr := f.listen(t, mailauth.ImplicitTLS)
	tok := f.token(t, provider.Microsoft, f.w.MSOtherUser)
	c := dial(t, addr, mailauth.ImplicitTLS)
	var perr *pop3.Error
	if err := c.Auth(oauthsasl.NewXOAUTH2Client(f.w.MSSharedMailbox, tok)); !errors.As(err, &perr) {
		t.Fatalf("Auth: %v, want *pop3.Error", err)
	}
}

// TestSTLS: each case has its own server, since a login locks the
// maildrop until the server notices the last case's session closed.
func TestSTLS(t *testing.T) {
	_, cfg := testTLS(t)

	t.Run("offered", func(t *testing.T) {
		f := newFixture(t, provider.Microsoft)
		c := dial(t, f.listen(t, mailauth.StartTLS), mailauth.Plain)
		caps, err := c.Capabilities(context.Background())
		if err != nil || !pop3.HasCapability(caps, "STLS") {
			t.Fatalf("Capabilities() = %q, %v", caps, err)
		}
		if err := c.StartTLS(cfg); err != nil {
			t.Fatal(err)
		}
		if caps, err = c.Capabilities(context.Background()); err != nil || pop3.HasCapability(caps, "STLS") {
			t.Errorf("Capabilities() after STLS = %q, %v", caps, err)
		}
		if err := c.StartTLS(cfg); err == nil {
			t.Error("a second StartTLS succeeded")
		}
		if err := c.User(pwUser, pwPassword); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("not offered", func(t *testing.T) {
		f := newFixture(t, provider.Microsoft)
		c := dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
		if err := c.StartTLS(cfg); !errors.Is(err, pop3.ErrSTLSNotOffered) {
			t.Fatalf("StartTLS: %v, want ErrSTLSNotOffered", err)
		}
		if err := c.User(pwUser, pwPassword); err != nil {
			t.Fatalf("the connection is unusable after a refused StartTLS: %v", err)
		}
	})
	t.Run("required", func(t *testing.T) {
		f := newFixture(t, provider.Microsoft)
		c := dial(t, f.listen(t, mailauth.RequireStartTLS), mailauth.Plain)
		var perr *pop3.Error
		if err := c.User(pwUser, pwPassword); !errors.As(err, &perr) {
			t.Fatalf("login before STLS: %v, want *pop3.Error", err)
		}
		if err := c.StartTLS(cfg); err != nil {
			t.Fatal(err)
		}
		if err := c.User(pwUser, pwPassword); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("untrusted certificate", func(t *testing.T) {
		f := newFixture(t, provider.Microsoft)
		c := dial(t, f.listen(t, mailauth.StartTLS), mailauth.Plain)
		err := c.StartTLS(&tls.Config{})
		var certErr *tls.CertificateVerificationError
		if !errors.As(err, &certErr) {
			t.Fatalf("StartTLS against a self-signed certificate: %v", err)
		}
		if err := c.Noop(); err == nil {
			t.Error("the connection is still used after a failed handshake")
		}
	})
}

// TestNoCommandInjection: an argument with a line break would smuggle a
// second command into the session; nothing is sent.
func TestNoCommandInjection(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	f.srv.Add(pwUser, []byte(testMessages[0]))
	c := dial(t, addr, mailauth.Plain)
	if err := c.User(pwUser+"\r\nDELE 1", pwPassword); err == nil {
		t.Fatal("User with a line break in the name succeeded")
	}
	if err := c.User(pwUser, pwPassword+"\nQUIT"); err == nil || strings.Contains(err.Error(), pwPassword) {
		t.Fatalf("User with a line break in the password: %v", err)
	}
	if err := c.User(pwUser, pwPassword); err != nil {
		t.Fatal(err)
	}
}
