package smtpd

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// A token logs its owner in, over each listener kind a worker uses, with
// every token mechanism the service offers; the certificate is verified by
// the IP address dialed.
func TestTokenLogin(t *testing.T) {
	for _, tc := range []struct {
		style provider.Type
		mode  mailauth.Mode
		mech  string
	}{
		{provider.Microsoft, mailauth.RequireStartTLS, oauthsasl.XOAUTH2},
		{provider.Google, mailauth.RequireStartTLS, oauthsasl.XOAUTH2},
		{provider.Google, mailauth.ImplicitTLS, oauthsasl.XOAUTH2},
		{provider.Google, mailauth.ImplicitTLS, oauthsasl.OAUTHBEARER},
	} {
		t.Run(string(tc.style)+"/"+tc.mode.String()+"/"+tc.mech, func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			user := f.user(tc.style)
			addr := f.listen(t, tc.mode)
			c := f.dial(t, addr, tc.mode)
			if _, ok := c.TLSConnectionState(); !ok {
				t.Fatal("connection is not TLS")
			}
			token := f.Token(t, tc.style, user)
			var client sasl.Client = oauthsasl.NewXOAUTH2Client(user, token)
			if tc.mech == oauthsasl.OAUTHBEARER {
				host, port, _ := strings.Cut(addr, ":")
				n, _ := strconv.Atoi(port)
				client = oauthsasl.NewOAUTHBEARERClient(user, token, host, n)
			}
			if err := c.Auth(client); err != nil {
				t.Fatalf("AUTH %s: %v", tc.mech, err)
			}
			if err := send(c, user, []string{"customer@example.net"}, testMessage("hello")); err != nil {
				t.Fatalf("send: %v", err)
			}
			if st := f.srv.Stats()[user]; st.Logins != 1 || st.Mechanisms[tc.mech] != 1 || st.Failures != 0 {
				t.Errorf("Stats()[%s] = %+v", user, st)
			}
		})
	}
}

// A delegate's token logs in as a shared mailbox only with full access.
func TestTokenLoginSharedMailbox(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	w := f.World
	f.Directory.GrantFullAccess(w.MSSharedMailbox, w.MSUser)
	addr := f.listen(t, mailauth.Plain)

	f.authenticate(t, f.dial(t, addr, mailauth.Plain), provider.Microsoft, w.MSSharedMailbox, w.MSUser)

	err := f.dial(t, addr, mailauth.Plain).Auth(oauthsasl.NewXOAUTH2Client(w.MSSharedMailbox, f.Token(t, provider.Microsoft, w.MSOtherUser)))
	wantSMTPError(t, "AUTH without full access", err, 535, smtp.EnhancedCode{5, 7, 3})

	if st := f.srv.Stats()[w.MSSharedMailbox]; st.Logins != 1 || st.Failures != 1 {
		t.Errorf("Stats()[shared] = %+v, want 1 login and 1 failure", st)
	}
}

// Refused tokens: Exchange's bare 535 5.7.3; Gmail's challenge, answered
// by the client, then 535 5.7.8.
func TestTokenRefused(t *testing.T) {
	for _, tc := range []struct {
		name  string
		style provider.Type
		token func(t *testing.T, f *fixture) string
	}{
		{"microsoft/expired", provider.Microsoft, func(t *testing.T, f *fixture) string {
			tok := f.Token(t, provider.Microsoft, f.World.MSUser)
			f.Clock.Advance(time.Hour) // access tokens live 3,599 seconds
			return tok
		}},
		{"microsoft/graph audience", provider.Microsoft, func(t *testing.T, f *fixture) string {
			return f.Token(t, provider.Microsoft, f.World.MSUser, "https://graph.microsoft.com/SMTP.Send")
		}},
		{"microsoft/IMAP scope only", provider.Microsoft, func(t *testing.T, f *fixture) string {
			return f.Token(t, provider.Microsoft, f.World.MSUser, "https://outlook.office.com/IMAP.AccessAsUser.All")
		}},
		{"google/expired", provider.Google, func(t *testing.T, f *fixture) string {
			tok := f.Token(t, provider.Google, f.World.GoogleUser)
			f.Clock.Advance(time.Hour)
			return tok
		}},
		{"google/send-only API scope", provider.Google, func(t *testing.T, f *fixture) string {
			return f.Token(t, provider.Google, f.World.GoogleUser, "https://www.googleapis.com/auth/gmail.send")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			user := f.user(tc.style)
			tok := tc.token(t, f)
			c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
			client := oauthsasl.NewXOAUTH2Client(user, tok)
			err := c.Auth(client)
			if tc.style == provider.Microsoft {
				wantSMTPError(t, "AUTH", err, 535, smtp.EnhancedCode{5, 7, 3})
				if client.Failure() != nil {
					t.Errorf("Exchange sent a failure challenge: %+v", client.Failure())
				}
			} else {
				wantSMTPError(t, "AUTH", err, 535, smtp.EnhancedCode{5, 7, 8})
				want := oauthsasl.Failure{Status: "401", Schemes: "bearer", Scope: "https://mail.google.com/"}
				if got := client.Failure(); got == nil || *got != want {
					t.Errorf("failure challenge %+v, want %+v", got, want)
				}
			}
			// Still in step: the server answers the next command.
			if err := c.Noop(); err != nil {
				t.Errorf("NOOP after the refusal: %v", err)
			}
			if st := f.srv.Stats()[user]; st.Failures != 1 || st.Logins != 0 {
				t.Errorf("Stats()[%s] = %+v, want 1 failure", user, st)
			}
		})
	}
}

// PASSWORD logins: Exchange has AUTH LOGIN only, Gmail also PLAIN.
func TestPasswordLogin(t *testing.T) {
	const mailbox, password = "printer@contoso.example", "correct horse"
	t.Run("microsoft", func(t *testing.T) {
		f := newFixture(t, provider.Microsoft, Options{})
		f.Directory.SetPassword(mailbox, password)
		addr := f.listen(t, mailauth.Plain)
		if err := f.dial(t, addr, mailauth.Plain).Auth(sasl.NewLoginClient(mailbox, password)); err != nil {
			t.Errorf("AUTH LOGIN: %v", err)
		}
		err := f.dial(t, addr, mailauth.Plain).Auth(sasl.NewLoginClient(mailbox, "wrong"))
		wantSMTPError(t, "AUTH LOGIN with a wrong password", err, 535, smtp.EnhancedCode{5, 7, 3})
		err = f.dial(t, addr, mailauth.Plain).Auth(sasl.NewPlainClient("", mailbox, password))
		wantSMTPError(t, "AUTH PLAIN at Exchange", err, 504, smtp.EnhancedCode{5, 7, 4})
	})
	t.Run("google", func(t *testing.T) {
		f := newFixture(t, provider.Google, Options{})
		f.Directory.SetPassword(mailbox, password)
		addr := f.listen(t, mailauth.Plain)
		if err := f.dial(t, addr, mailauth.Plain).Auth(sasl.NewPlainClient("", mailbox, password)); err != nil {
			t.Errorf("AUTH PLAIN: %v", err)
		}
		if err := f.dial(t, addr, mailauth.Plain).Auth(sasl.NewLoginClient(mailbox, password)); err != nil {
			t.Errorf("AUTH LOGIN: %v", err)
		}
		err := f.dial(t, addr, mailauth.Plain).Auth(sasl.NewPlainClient("", mailbox, "wrong"))
		se := wantSMTPError(t, "AUTH PLAIN with a wrong password", err, 535, smtp.EnhancedCode{5, 7, 8})
		if !strings.HasPrefix(se.Message, "Username and Password not accepted.") {
			t.Errorf("reply text %q", se.Message)
		}
		if st := f.srv.Stats()[mailbox]; st.Logins != 2 || st.Mechanisms["PLAIN"] != 1 || st.Mechanisms["LOGIN"] != 1 || st.Failures != 1 {
			t.Errorf("Stats()[%s] = %+v", mailbox, st)
		}
	})
}

// The exact lines on the wire: Exchange refuses at once, with its own code
// when SMTP AUTH is off for the mailbox; Gmail challenges first.
func TestWireRefusal(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	ms, google := "support@contoso.example", "support.team@gmail.example"
	for _, tc := range []struct {
		name    string
		style   provider.Type
		disable bool // DisableSMTPAuth for the mailbox
		auth    string
		// lines alternate: what the server must send, what the client
		// answers.
		lines [][]string
	}{
		{"microsoft/bad token", provider.Microsoft, false,
			"AUTH XOAUTH2 " + b64(oauthsasl.XOAUTH2Response(ms, "not-a-token")),
			[][]string{{"535 5.7.3 Authentication unsuccessful"}}},
		{"microsoft/SMTP AUTH disabled", provider.Microsoft, true,
			"AUTH LOGIN " + b64([]byte(ms)),
			[][]string{{"334 " + b64([]byte("Password:"))}, {b64([]byte("sandbox-password"))},
				{"535 5.7.139 Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox. Visit https://aka.ms/smtp_auth_disabled for more information."}}},
		{"google/bad token", provider.Google, false,
			"AUTH XOAUTH2 " + b64(oauthsasl.XOAUTH2Response(google, "ya29.not-a-token")),
			[][]string{
				{"334 " + b64([]byte(`{"status":"401","schemes":"bearer","scope":"https://mail.google.com/"}`))}, {""},
				{"535-5.7.8 Username and Password not accepted. Learn more at",
					"535 5.7.8  https://support.google.com/mail/?p=BadCredentials - gsmtp"},
			}},
		{"google/bad token OAUTHBEARER", provider.Google, false,
			"AUTH OAUTHBEARER " + b64(oauthsasl.OAUTHBEARERResponse(google, "127.0.0.1", 587, "ya29.not-a-token")),
			[][]string{
				{"334 " + b64([]byte(`{"status":"invalid_request","scope":"https://mail.google.com/"}`))}, {b64([]byte{1})},
				{"535-5.7.8 Username and Password not accepted. Learn more at",
					"535 5.7.8  https://support.google.com/mail/?p=BadCredentials - gsmtp"},
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			f.Directory.SetPassword(ms, "sandbox-password")
			if tc.disable {
				f.Directory.DisableSMTPAuth(ms)
			}
			w := dialWire(t, f.listen(t, mailauth.Plain))
			w.ehlo()
			w.send(tc.auth)
			for i, l := range tc.lines {
				if i%2 == 0 {
					w.expect(l...)
				} else {
					w.send(l[0])
				}
			}
			w.send("NOOP")
			w.expect("250 2.0.0 I have successfully done nothing")
		})
	}
}

// SMTP AUTH turned off for a mailbox refuses tokens too, with the code
// that tells the admin what to change.
func TestSMTPAuthDisabled(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	f.Directory.DisableSMTPAuth(user)
	c := f.dial(t, f.listen(t, mailauth.Plain), mailauth.Plain)
	err := c.Auth(oauthsasl.NewXOAUTH2Client(user, f.Token(t, provider.Microsoft, user)))
	se := wantSMTPError(t, "AUTH with SMTP AUTH disabled", err, 535, smtp.EnhancedCode{5, 7, 139})
	if !strings.Contains(se.Message, "https://aka.ms/smtp_auth_disabled") {
		t.Errorf("reply text %q", se.Message)
	}
}

// On a RequireStartTLS listener nothing authenticates in clear text: AUTH is not
// advertised, AUTH and MAIL are refused in each service's words; after
// the upgrade AUTH is offered and works.
func TestSTARTTLSRequired(t *testing.T) {
	for _, tc := range []struct {
		style      provider.Type
		auth, mail string
		mechanisms string
	}{
		{provider.Microsoft, "504 5.7.4 Unrecognized authentication type", "530 5.7.57 Client not authenticated to send mail.", "AUTH LOGIN XOAUTH2"},
		{provider.Google, "530 5.7.0 Must issue a STARTTLS command first. - gsmtp", "530 5.7.0 Must issue a STARTTLS command first. - gsmtp", "AUTH LOGIN PLAIN XOAUTH2 OAUTHBEARER"},
	} {
		t.Run(string(tc.style), func(t *testing.T) {
			f := newFixture(t, tc.style, Options{})
			user := f.user(tc.style)
			addr := f.listen(t, mailauth.RequireStartTLS)

			w := dialWire(t, addr)
			kw := w.ehlo()
			isAuth := func(k string) bool { return strings.HasPrefix(k, "AUTH") }
			if !slices.Contains(kw, "STARTTLS") || slices.ContainsFunc(kw, isAuth) {
				t.Errorf("EHLO before STARTTLS: %q, want STARTTLS and no AUTH", kw)
			}
			w.send("AUTH XOAUTH2 " + base64.StdEncoding.EncodeToString(oauthsasl.XOAUTH2Response(user, "any")))
			w.expect(tc.auth)
			w.send("MAIL FROM:<" + user + ">")
			w.expect(tc.mail)

			c := f.dial(t, addr, mailauth.RequireStartTLS)
			if ok, mechs := c.Extension("AUTH"); !ok || "AUTH "+mechs != tc.mechanisms {
				t.Errorf("EHLO after STARTTLS offers %q, want %q", mechs, tc.mechanisms)
			}
			f.authenticate(t, c, tc.style, user, user)
		})
	}
}

// StartTLS (optional) lets a client authenticate without upgrading.
func TestSTARTTLSOptional(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	w := dialWire(t, f.listen(t, mailauth.StartTLS))
	if kw := w.ehlo(); !slices.Contains(kw, "STARTTLS") || !slices.Contains(kw, "AUTH LOGIN XOAUTH2") {
		t.Errorf("EHLO: %q, want STARTTLS and AUTH LOGIN XOAUTH2", kw)
	}
	user := f.World.MSUser
	w.send("AUTH XOAUTH2 " + base64.StdEncoding.EncodeToString(oauthsasl.XOAUTH2Response(user, f.Token(t, provider.Microsoft, user))))
	w.expect("235 2.0.0 Authentication succeeded")
}

// A Microsoft token makes an AUTH line longer than go-smtp's default limit
// of 2,000 bytes; the server must take it.
func TestLongTokenLine(t *testing.T) {
	f := newFixture(t, provider.Microsoft, Options{})
	user := f.World.MSUser
	line := "AUTH XOAUTH2 " + base64.StdEncoding.EncodeToString(oauthsasl.XOAUTH2Response(user, f.Token(t, provider.Microsoft, user)))
	if len(line) <= 2000 {
		t.Fatalf("AUTH line is %d bytes; the test needs more than 2,000", len(line))
	}
	w := dialWire(t, f.listen(t, mailauth.Plain))
	w.ehlo()
	w.send(line)
	w.expect("235 2.0.0 Authentication succeeded")
}

func TestNewAndListenRefuseBadOptions(t *testing.T) {
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
	for _, opt := range []Options{
		{ServerOptions: mailauth.ServerOptions{Style: "yahoo", Directory: f.Directory}},
		{ServerOptions: mailauth.ServerOptions{Style: provider.Google}},
		{ServerOptions: mailauth.ServerOptions{Style: provider.Google, Directory: f.Directory}, RatePerMinute: -1},
	} {
		if _, err := New(opt); err == nil {
			t.Errorf("New(%+v) succeeded", opt)
		}
	}
}

// At the Google-like server, "=" answers a 334 challenge only as
// malformed, with Gmail's "501 5.5.2 Cannot Decode response"; it is not
// taken for the empty line the client owed (RFC 4954 gives "=" a meaning
// only as the initial response on the AUTH line, where it still means
// empty). go-smtp's server decodes "=" as empty before the mechanism sees
// it. The same inside STARTTLS, Gmail's port 587.
func TestWireEqualsAnswer(t *testing.T) {
	b64 := base64.StdEncoding.EncodeToString
	for _, mode := range []mailauth.Mode{mailauth.Plain, mailauth.RequireStartTLS} {
		t.Run(mode.String(), func(t *testing.T) {
			f := newFixture(t, provider.Google, Options{})
			user := f.World.GoogleUser
			w := dialWire(t, f.listen(t, mode))
			w.ehlo()
			if mode == mailauth.RequireStartTLS {
				w.startTLS(f.Cert.ClientTLS())
				w.ehlo()
			}
			w.send("AUTH XOAUTH2 " + b64(oauthsasl.XOAUTH2Response(user, "ya29.not-a-token")))
			if l := w.line(); !strings.HasPrefix(l, "334 ey") {
				t.Fatalf("no failure challenge: %q", l)
			}
			w.send("=")
			w.expect("501 5.5.2 Cannot Decode response - gsmtp")
			// Answering the request for the initial response with "=" is
			// no better.
			w.send("AUTH XOAUTH2")
			w.expect("334 ")
			w.send("=")
			w.expect("501 5.5.2 Cannot Decode response - gsmtp")
			// "=" on the command line is the empty initial response: the
			// server asks for it.
			w.send("AUTH XOAUTH2 =")
			w.expect("334 ")
			w.send(b64(oauthsasl.XOAUTH2Response(user, f.Token(t, provider.Google, user))))
			if l := w.line(); !strings.HasPrefix(l, "235 ") {
				t.Fatalf("login after the refusals: %q", l)
			}
		})
	}
}
