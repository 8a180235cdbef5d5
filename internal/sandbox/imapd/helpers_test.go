package imapd

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/syncbuf"
)

// ioTimeout is every test connection's deadline: a client or server stuck
// in an exchange fails the test instead of blocking it.
const ioTimeout = 10 * time.Second

// fixture is an identity provider with the shared world, a Directory that
// asks it about tokens, and an IMAP server in one style.
type fixture struct {
	*idptest.Sandbox
	srv *Server
}

func newFixture(t *testing.T, style provider.Type, opt Options) *fixture {
	t.Helper()
	f := &fixture{Sandbox: idptest.New(t, idptest.Options{Start: idptest.Epoch})}
	opt.Style, opt.Directory, opt.TLS = style, f.Directory, f.Cert.ServerTLS()
	var err error
	if f.srv, err = New(opt); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.srv.Close() })
	return f
}

func (f *fixture) listen(t *testing.T, mode mailauth.Mode) string {
	t.Helper()
	addr, err := f.srv.Listen(mode)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// dialConn opens a TCP connection with the test deadline set.
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

// dial connects a go-imap/v2 client to a Plain or ImplicitTLS listener.
// With ImplicitTLS
// the client names no server, so crypto/tls verifies the certificate by
// the IP address dialed, as a worker given MAILBOX_HOST = 127.0.0.1 would.
func (f *fixture) dial(t *testing.T, addr string, mode mailauth.Mode, opt *imapclient.Options) *imapclient.Client {
	t.Helper()
	var conn net.Conn
	if mode == mailauth.ImplicitTLS {
		tc, err := tls.DialWithDialer(&net.Dialer{Timeout: ioTimeout}, "tcp", addr, f.Cert.ClientTLS())
		if err != nil {
			t.Fatal(err)
		}
		tc.SetDeadline(time.Now().Add(ioTimeout))
		t.Cleanup(func() { tc.Close() })
		conn = tc
	} else {
		conn = dialConn(t, addr)
	}
	c := imapclient.New(conn, opt)
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	return c
}

// wire speaks IMAP by hand, to check the exact lines a server sends.
type wire struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialWire(t *testing.T, addr string) *wire {
	t.Helper()
	conn := dialConn(t, addr)
	w := &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
	if g := w.line(); !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	return w
}

func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(line + "\r\n")); err != nil {
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
	w.send("s STARTTLS")
	w.expect("s OK Begin TLS negotiation now")
	conf.ServerName = "127.0.0.1"
	tc := tls.Client(w.conn, conf)
	if err := tc.Handshake(); err != nil {
		w.t.Fatal(err)
	}
	w.conn, w.r = tc, bufio.NewReader(tc)
}

// expect reads one line and fails unless it is want.
func (w *wire) expect(want string) {
	w.t.Helper()
	if got := w.line(); got != want {
		w.t.Fatalf("server sent %q, want %q", got, want)
	}
}

// transcript records a client's traffic (imapclient.Options.DebugWriter);
// the client writes to it from two goroutines.
type transcript struct{ syncbuf.Buffer }

// uidCommands returns the UID commands the client sent, without tags. The
// rest of the transcript is left out of failure messages: it holds tokens.
func (tr *transcript) uidCommands() []string {
	var cmds []string
	for _, line := range strings.Split(tr.String(), "\r\n") {
		if _, cmd, ok := strings.Cut(line, " "); ok && strings.HasPrefix(line, "T") && strings.HasPrefix(cmd, "UID ") {
			cmds = append(cmds, cmd)
		}
	}
	return cmds
}

// testMessage is a small message whose subject tells it apart.
func testMessage(subject string) []byte {
	return []byte("From: Sender <sender@example.net>\r\n" +
		"To: support@contoso.example\r\n" +
		"Subject: " + subject + "\r\n" +
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.net>\r\n" +
		"\r\n" +
		"Body of " + subject + ".\r\n")
}
