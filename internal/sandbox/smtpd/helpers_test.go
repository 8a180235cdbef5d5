package smtpd

import (
	"bufio"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/sandbox/mailauth"
)

// ioTimeout bounds every test connection: a client or server stuck in an
// exchange fails the test instead of blocking it.
const ioTimeout = 10 * time.Second

// fixture is an identity provider with the shared world, a Directory that
// asks it about tokens, and an SMTP server in one style, all on one
// clock.Fake.
type fixture struct {
	*idptest.Sandbox
	srv *Server
}

func newFixture(t *testing.T, style provider.Type, opt Options) *fixture {
	t.Helper()
	f := &fixture{Sandbox: idptest.New(t, idptest.Options{Start: idptest.Epoch})}
	opt.Style, opt.Directory, opt.TLS, opt.Clock = style, f.Directory, f.Cert.ServerTLS(), f.Clock
	var err error
	if f.srv, err = New(opt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.srv.Close() })
	return f
}

// user is the world's user of the style's provider.
func (f *fixture) user(style provider.Type) string {
	if style == provider.Google {
		return f.World.GoogleUser
	}
	return f.World.MSUser
}

func (f *fixture) listen(t *testing.T, mode mailauth.Mode) string {
	t.Helper()
	addr, err := f.srv.Listen(mode)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// dial connects a go-smtp client and says EHLO. With ImplicitTLS it verifies the
// server against the test CA by the IP address dialed; with RequireStartTLS it
// upgrades first, naming the server by that IP as a sender configured with
// MAIL_HOST = 127.0.0.1 would.
func (f *fixture) dial(t *testing.T, addr string, mode mailauth.Mode) *smtp.Client {
	t.Helper()
	var c *smtp.Client
	switch mode {
	case mailauth.ImplicitTLS:
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, f.Cert.ClientTLS())
		if err != nil {
			t.Fatal(err)
		}
		c = smtp.NewClient(conn)
	case mailauth.RequireStartTLS:
		cfg := f.Cert.ClientTLS()
		cfg.ServerName = "127.0.0.1"
		var err error
		if c, err = smtp.NewClientStartTLS(dialConn(t, addr), cfg); err != nil {
			t.Fatalf("STARTTLS: %v", err)
		}
	default:
		c = smtp.NewClient(dialConn(t, addr))
	}
	// go-smtp's client sets the connection's deadlines itself, per command.
	c.CommandTimeout, c.SubmissionTimeout = ioTimeout, ioTimeout
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("worker.example"); err != nil {
		t.Fatalf("EHLO: %v", err)
	}
	return c
}

func dialConn(t *testing.T, addr string) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(ioTimeout))
	t.Cleanup(func() { conn.Close() })
	return conn
}

// send runs one transaction on c and returns the error of the first step
// that failed.
func send(c *smtp.Client, from string, to []string, msg []byte) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, rcpt := range to {
		if err := c.Rcpt(rcpt, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	return w.Close()
}

// wantSMTPError fails unless err is an SMTP reply with code and enhanced
// code.
func wantSMTPError(t *testing.T, what string, err error, code int, enhanced smtp.EnhancedCode) *smtp.SMTPError {
	t.Helper()
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != code || se.EnhancedCode != enhanced {
		t.Fatalf("%s: %v, want %d %d.%d.%d", what, err, code, enhanced[0], enhanced[1], enhanced[2])
	}
	return se
}

// authenticate logs c in as mailbox with a token of owner, with XOAUTH2.
func (f *fixture) authenticate(t *testing.T, c *smtp.Client, typ provider.Type, mailbox, owner string) {
	t.Helper()
	if err := c.Auth(oauthsasl.NewXOAUTH2Client(mailbox, f.Token(t, typ, owner))); err != nil {
		t.Fatalf("AUTH as %s with %s's token: %v", mailbox, owner, err)
	}
}

// wire speaks SMTP by hand, to check the exact lines a server sends.
type wire struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialWire(t *testing.T, addr string) *wire {
	t.Helper()
	conn := dialConn(t, addr)
	w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
	if g := w.line(); !strings.HasPrefix(g, "220 ") {
		t.Fatalf("greeting %q", g)
	}
	return w
}

func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := io.WriteString(w.conn, line+"\r\n"); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wire) line() string {
	w.t.Helper()
	l, err := w.r.ReadString('\n')
	if err != nil {
		w.t.Fatalf("reading from server: %v (got %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// startTLS sends STARTTLS and goes on inside TLS.
func (w *wire) startTLS(conf *tls.Config) {
	w.t.Helper()
	w.send("STARTTLS")
	if l := w.line(); !strings.HasPrefix(l, "220 ") {
		w.t.Fatalf("STARTTLS: %q", l)
	}
	conf.ServerName = "127.0.0.1"
	tc := tls.Client(w.conn, conf)
	if err := tc.Handshake(); err != nil {
		w.t.Fatal(err)
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
}

// expect reads len(want) lines and fails unless they are want.
func (w *wire) expect(want ...string) {
	w.t.Helper()
	for _, l := range want {
		if got := w.line(); got != l {
			w.t.Fatalf("server sent %q, want %q", got, l)
		}
	}
}

// ehlo sends EHLO and returns the keyword lines of the reply.
func (w *wire) ehlo() []string {
	w.t.Helper()
	w.send("EHLO worker.example")
	var kw []string
	for {
		l := w.line()
		if len(l) < 4 || !strings.HasPrefix(l, "250") {
			w.t.Fatalf("EHLO reply line %q", l)
		}
		kw = append(kw, l[4:])
		if l[3] == ' ' {
			return kw[1:] // the first line is the greeting
		}
	}
}

// testMessage is a message with a line that starts with a dot, which the
// client must stuff and the server unstuff.
func testMessage(subject string) []byte {
	return []byte("From: support@contoso.example\r\n" +
		"To: customer@example.net\r\n" +
		"Subject: " + subject + "\r\n" +
		"\r\n" +
		"Hello,\r\n" +
		".hidden line that starts with a dot\r\n" +
		"Bye.\r\n")
}
