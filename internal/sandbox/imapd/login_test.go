package imapd

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// wantIMAPError fails unless err is the *imap.Error want (type, code, text).
func wantIMAPError(t *testing.T, what string, err error, want *imap.Error) {
	t.Helper()
	var ie *imap.Error
	if !errors.As(err, &ie) || ie.Type != want.Type || ie.Code != want.Code || ie.Text != want.Text {
		t.Fatalf("%s: %v, want %s [%s] %s", what, err, want.Type, want.Code, want.Text)
	}
}

// numMessages selects folder and returns how many messages it holds.
func numMessages(t *testing.T, c *imapclient.Client, folder string) uint32 {
	t.Helper()
	sel, err := c.Select(folder, nil).Wait()
	if err != nil {
		t.Fatalf("SELECT %s: %v", folder, err)
	}
	return sel.NumMessages
}

// A token opens its owner's mailbox, over implicit TLS verified by IP, with
// every mechanism the service offers.
func TestTokenLoginOwnMailbox(t *testing.T) {
	for _, tc := range []struct {
		style provider.Type
		mech  string
	}{
		{provider.Microsoft, oauthsasl.XOAUTH2},
		{provider.Google, oauthsasl.XOAUTH2},
		{provider.Google, oauthsasl.OAUTHBEARER},
	} {
		t.Run(string(tc.style)+"/"+tc.mech, func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			user := f.World.MSUser
			if tc.style == provider.Google {
				user = f.World.GoogleUser
			}
			if _, err := f.srv.Append(user, "INBOX", testMessage("waiting")); err != nil {
				t.Fatal(err)
			}
			addr := f.listen(t, mailauth.ImplicitTLS)
			c := f.dial(t, addr, mailauth.ImplicitTLS, nil)

			token := f.Token(t, tc.style, user)
			var client sasl.Client = oauthsasl.NewXOAUTH2Client(user, token)
			if tc.mech == oauthsasl.OAUTHBEARER {
				client = oauthsasl.NewOAUTHBEARERClient(user, token, "127.0.0.1", 993)
			}
			if err := c.Authenticate(client); err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if n := numMessages(t, c, "INBOX"); n != 1 {
				t.Errorf("INBOX holds %d messages, want the 1 appended", n)
			}
			st := f.srv.Stats()[user]
			if st.Logins != 1 || st.Mechanisms[tc.mech] != 1 || st.Failures != 0 {
				t.Errorf("Stats()[%s] = %+v", user, st)
			}
		})
	}
}

// A delegate's token opens a shared mailbox named in user= when the
// Directory grants full access, and is refused without it.
func TestTokenLoginSharedMailbox(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	w := f.World
	f.Directory.GrantFullAccess(w.MSSharedMailbox, w.MSUser)
	if _, err := f.srv.Append(w.MSSharedMailbox, "INBOX", testMessage("for the helpdesk")); err != nil {
		t.Fatal(err)
	}
	addr := f.listen(t, mailauth.ImplicitTLS)

	c := f.dial(t, addr, mailauth.ImplicitTLS, nil)
	if err := c.Authenticate(oauthsasl.NewXOAUTH2Client(w.MSSharedMailbox, f.Token(t, provider.Microsoft, w.MSUser))); err != nil {
		t.Fatalf("delegate with full access: %v", err)
	}
	// The session is the shared mailbox's, not the token owner's.
	if n := numMessages(t, c, "INBOX"); n != 1 {
		t.Errorf("shared INBOX holds %d messages, want 1", n)
	}

	other := f.dial(t, addr, mailauth.ImplicitTLS, nil)
	err := other.Authenticate(oauthsasl.NewXOAUTH2Client(w.MSSharedMailbox, f.Token(t, provider.Microsoft, w.MSOtherUser)))
	wantIMAPError(t, "user without full access", err, exchange.authFailed)

	st := f.srv.Stats()[w.MSSharedMailbox]
	if st.Logins != 1 || st.Failures != 1 {
		t.Errorf("Stats()[shared] = %+v, want 1 login and 1 failure", st)
	}
	if _, ok := f.srv.Stats()[w.MSUser]; ok {
		t.Error("the delegate's own mailbox was counted; the login was to the shared one")
	}
}

// Tokens the Directory refuses get the service's refusal: Exchange's bare
// NO, Gmail's challenge (kept by the client as Failure) and then, since
// go-imap's client answers it with "=", Gmail's BAD for an answer it
// cannot decode (TestWireEqualsAnswer; the NO [AUTHENTICATIONFAILED] that
// the right answer gets is pinned by TestWireRefusal).
func TestTokenRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style provider.Type
		// token returns the token to present for the world's user.
		token func(t *testing.T, f *fixture) string
	}{
		{"microsoft/expired", provider.Microsoft, func(t *testing.T, f *fixture) string {
			tok := f.Token(t, provider.Microsoft, f.World.MSUser)
			f.Clock.Advance(2 * time.Hour) // access tokens live about an hour
			return tok
		}},
		{"microsoft/graph audience", provider.Microsoft, func(t *testing.T, f *fixture) string {
			return f.Token(t, provider.Microsoft, f.World.MSUser, "https://graph.microsoft.com/IMAP.AccessAsUser.All")
		}},
		{"microsoft/SMTP scope only", provider.Microsoft, func(t *testing.T, f *fixture) string {
			return f.Token(t, provider.Microsoft, f.World.MSUser, "https://outlook.office.com/SMTP.Send")
		}},
		{"microsoft/unknown token", provider.Microsoft, func(*testing.T, *fixture) string { return "eyJ0eXAiOiJKV1QifQ.e30.c2ln" }},
		{"google/expired", provider.Google, func(t *testing.T, f *fixture) string {
			tok := f.Token(t, provider.Google, f.World.GoogleUser)
			f.Clock.Advance(2 * time.Hour)
			return tok
		}},
		{"google/readonly scope", provider.Google, func(t *testing.T, f *fixture) string {
			return f.Token(t, provider.Google, f.World.GoogleUser, "https://www.googleapis.com/auth/gmail.readonly")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			user := f.World.MSUser
			if tc.style == provider.Google {
				user = f.World.GoogleUser
			}
			tok := tc.token(t, f)
			c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain, nil)
			client := oauthsasl.NewXOAUTH2Client(user, tok)
			err := c.Authenticate(client)
			if tc.style == provider.Microsoft {
				wantIMAPError(t, "Authenticate", err, exchange.authFailed)
				if client.Failure() != nil {
					t.Errorf("Exchange sent a failure challenge: %+v", client.Failure())
				}
			} else {
				wantIMAPError(t, "Authenticate", err, gmail.malformed)
				want := oauthsasl.Failure{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"}
				if got := client.Failure(); got == nil || *got != want {
					t.Errorf("failure challenge %+v, want %+v", got, want)
				}
			}
			// The connection is still usable after the refusal.
			if err := c.Noop().Wait(); err != nil {
				t.Errorf("NOOP after the refusal: %v", err)
			}
			if st := f.srv.Stats()[user]; st.Failures != 1 || st.Logins != 0 {
				t.Errorf("Stats()[%s] = %+v, want 1 failure", user, st)
			}
		})
	}
}

// The expired-token case over time: the same token works, then stops
// working once the clock passes its expiry.
func TestTokenExpires(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	tok := f.Token(t, provider.Microsoft, user)
	addr := f.listen(t, mailauth.Plain)
	if err := f.dial(t, addr, mailauth.Plain, nil).Authenticate(oauthsasl.NewXOAUTH2Client(user, tok)); err != nil {
		t.Fatalf("fresh token: %v", err)
	}
	f.Clock.Advance(time.Hour)
	err := f.dial(t, addr, mailauth.Plain, nil).Authenticate(oauthsasl.NewXOAUTH2Client(user, tok))
	wantIMAPError(t, "token an hour later", err, exchange.authFailed)
}

// PASSWORD logins: the LOGIN command and AUTHENTICATE PLAIN, right and
// wrong, worded per service.
func TestPasswordLogin(t *testing.T) {
	for _, style := range []provider.Type{provider.Microsoft, provider.Google} {
		t.Run(string(style), func(t *testing.T) {
			f := newFixture(t, style, Options{})
			const mailbox, password = "printer@contoso.example", "correct horse"
			f.Directory.SetPassword(mailbox, password)
			addr := f.listen(t, mailauth.ImplicitTLS)
			d := dialects[style]

			if err := f.dial(t, addr, mailauth.ImplicitTLS, nil).Login(mailbox, password).Wait(); err != nil {
				t.Errorf("LOGIN: %v", err)
			}
			err := f.dial(t, addr, mailauth.ImplicitTLS, nil).Login(mailbox, "wrong").Wait()
			wantIMAPError(t, "LOGIN with a wrong password", err, d.loginFailed)

			if err := f.dial(t, addr, mailauth.ImplicitTLS, nil).Authenticate(sasl.NewPlainClient("", mailbox, password)); err != nil {
				t.Errorf("AUTHENTICATE PLAIN: %v", err)
			}
			err = f.dial(t, addr, mailauth.ImplicitTLS, nil).Authenticate(sasl.NewPlainClient("", mailbox, "wrong"))
			wantIMAPError(t, "AUTHENTICATE PLAIN with a wrong password", err, d.authFailed)

			st := f.srv.Stats()[mailbox]
			if st.Logins != 2 || st.Mechanisms["LOGIN"] != 1 || st.Mechanisms["PLAIN"] != 1 || st.Failures != 2 {
				t.Errorf("Stats()[%s] = %+v", mailbox, st)
			}
		})
	}
}

// What each service offers before login, and Exchange refusing the
// mechanism it does not have.
func TestMechanismsOffered(t *testing.T) {
	for _, tc := range []struct {
		style      provider.Type
		want, dont []imap.Cap
	}{
		{provider.Microsoft, []imap.Cap{"AUTH=PLAIN", "AUTH=XOAUTH2", imap.CapSASLIR}, []imap.Cap{"AUTH=OAUTHBEARER"}},
		{provider.Google, []imap.Cap{"AUTH=PLAIN", "AUTH=XOAUTH2", "AUTH=OAUTHBEARER", imap.CapSASLIR}, nil},
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain, nil)
			caps, err := c.Capability().Wait()
			if err != nil {
				t.Fatal(err)
			}
			for _, cp := range tc.want {
				if !caps.Has(cp) {
					t.Errorf("%s missing from %v", cp, caps)
				}
			}
			for _, cp := range tc.dont {
				if caps.Has(cp) {
					t.Errorf("%s offered", cp)
				}
			}
			if tc.style == provider.Microsoft {
				tok := f.Token(t, provider.Microsoft, f.World.MSUser)
				err := c.Authenticate(oauthsasl.NewOAUTHBEARERClient(f.World.MSUser, tok, "127.0.0.1", 993))
				wantIMAPError(t, "OAUTHBEARER at Exchange", err, exchange.noMechanism)
			}
		})
	}
}

// The exact lines on the wire when a token is refused: Exchange answers at
// once; Gmail challenges, waits for the empty answer, then says NO.
func TestWireRefusal(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, tc := range []struct {
		style provider.Type
		mech  string
		ir    []byte
		// lines alternate: what the server must send, what the client
		// answers ("" for the empty answer; nil ends).
		lines []string
	}{
		{provider.Microsoft, oauthsasl.XOAUTH2, oauthsasl.XOAUTH2Response("support@contoso.example", "not-a-token"),
			[]string{"a1 NO AUTHENTICATE failed."}},
		{provider.Google, oauthsasl.XOAUTH2, oauthsasl.XOAUTH2Response("support.team@gmail.example", "ya29.not-a-token"),
			[]string{
				"+ " + b64([]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`)), "",
				"a1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
			}},
		{provider.Google, oauthsasl.OAUTHBEARER, oauthsasl.OAUTHBEARERResponse("support.team@gmail.example", "127.0.0.1", 993, "ya29.not-a-token"),
			[]string{
				"+ " + b64([]byte(`{"status":"invalid_request","scope":"https://mail.google.com/"}`)), b64([]byte{1}),
				"a1 NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)",
			}},
	} {
		t.Run(string(tc.style)+"/"+tc.mech, func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			w := dialWire(t, f.listen(t, mailauth.Plain))
			w.send("a1 AUTHENTICATE " + tc.mech + " " + b64(tc.ir))
			for i, l := range tc.lines {
				if i%2 == 0 {
					w.expect(l)
				} else {
					w.send(l)
				}
			}
			w.send("a2 NOOP")
			w.expect("a2 OK NOOP completed")
		})
	}
}

// A client without SASL-IR sends AUTHENTICATE alone and gets the usual
// empty continuation, "+ ", before it sends its credentials.
func TestWirePlainWithoutInitialResponse(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	f.Directory.SetPassword("printer@contoso.example", "pw")
	w := dialWire(t, f.listen(t, mailauth.Plain))
	w.send("a1 AUTHENTICATE PLAIN")
	w.expect("+ ")
	w.send(base64.StdEncoding.EncodeToString([]byte("\x00printer@contoso.example\x00pw")))
	if got := w.line(); !strings.HasPrefix(got, "a1 OK ") {
		t.Fatalf("server sent %q, want a1 OK", got)
	}
}

// A Microsoft access token is a JWT of about 2,000 characters; its
// AUTHENTICATE line with SASL-IR is far longer than that.
func TestLongTokenLine(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	tok := f.Token(t, provider.Microsoft, user)
	line := "a1 AUTHENTICATE XOAUTH2 " + base64.StdEncoding.EncodeToString(oauthsasl.XOAUTH2Response(user, tok))
	if len(line) <= 2000 {
		t.Fatalf("AUTHENTICATE line is %d bytes; the test needs more than 2,000", len(line))
	}
	w := dialWire(t, f.listen(t, mailauth.Plain))
	w.send(line)
	if got := w.line(); !strings.HasPrefix(got, "a1 OK ") {
		t.Fatalf("server sent %q, want a1 OK", got)
	}
}

// A RequireStartTLS listener refuses logins until the client upgrades; the
// optional variant lets it log in in clear text.
func TestSTARTTLS(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	tok := f.Token(t, provider.Microsoft, user)
	required := f.listen(t, mailauth.RequireStartTLS)

	clear := f.dial(t, required, mailauth.Plain, nil)
	caps, err := clear.Capability().Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !caps.Has(imap.CapStartTLS) || !caps.Has(imap.CapLoginDisabled) || caps.Has("AUTH=XOAUTH2") {
		t.Errorf("capabilities before STARTTLS: %v, want STARTTLS and LOGINDISABLED without AUTH=", caps)
	}
	err = clear.Authenticate(oauthsasl.NewXOAUTH2Client(user, tok))
	wantIMAPError(t, "AUTHENTICATE before STARTTLS", err, &imap.Error{
		Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodePrivacyRequired, Text: "TLS is required to authenticate",
	})

	// After the upgrade, verified by IP as a worker given 127.0.0.1 would.
	tlsConfig := f.Cert.ClientTLS()
	tlsConfig.ServerName = "127.0.0.1"
	conn := dialConn(t, required)
	upgraded, err := imapclient.NewStartTLS(conn, &imapclient.Options{TLSConfig: tlsConfig})
	if err != nil {
		t.Fatalf("STARTTLS: %v", err)
	}
	t.Cleanup(func() { upgraded.Close() })
	if err := upgraded.Authenticate(oauthsasl.NewXOAUTH2Client(user, tok)); err != nil {
		t.Errorf("AUTHENTICATE after STARTTLS: %v", err)
	}

	optional := f.dial(t, f.listen(t, mailauth.StartTLS), mailauth.Plain, nil)
	if err := optional.Authenticate(oauthsasl.NewXOAUTH2Client(user, tok)); err != nil {
		t.Errorf("AUTHENTICATE in clear text where STARTTLS is optional: %v", err)
	}
}

func TestListenNeedsTLSConfig(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	s, err := New(Options{ServerOptions: mailauth.ServerOptions{Style: provider.Microsoft, Directory: f.Directory}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, mode := range []mailauth.Mode{mailauth.ImplicitTLS, mailauth.RequireStartTLS, mailauth.StartTLS} {
		if _, err := s.Listen(mode); err == nil {
			t.Errorf("Listen(%v) without Options.TLS succeeded", mode)
		}
	}
	if _, err := New(Options{ServerOptions: mailauth.ServerOptions{Style: "yahoo", Directory: f.Directory}}); err == nil {
		t.Error("New with an unknown style succeeded")
	}
}
