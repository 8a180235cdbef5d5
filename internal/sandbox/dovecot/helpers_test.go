package dovecot

import (
	"bufio"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idptest"
)

// ioTimeout bounds every conversation: a client stuck in an exchange fails
// the test with an i/o timeout instead of hanging it.
const ioTimeout = 15 * time.Second

// fixture is an identity provider with the sandbox world, a live token of
// its Microsoft user, and a Dovecot that checks tokens with it.
type fixture struct {
	*idptest.Sandbox
	user  string // the token's owner, as the tests log in
	token string
	srv   *Server
}

func newFixture(t *testing.T, opt Options) *fixture {
	t.Helper()
	// A fake clock that starts at the real time, which Dovecot runs on.
	s := idptest.New(t, idptest.Options{Start: time.Now()})
	opt.IntrospectionURL = s.IDP.URL() + "/introspect"
	return &fixture{Sandbox: s, user: s.World.MSUser, token: s.Token(t, provider.Microsoft, s.World.MSUser), srv: Start(t, opt)}
}

// expire moves the identity provider's clock past every token's lifetime.
func (f *fixture) expire() { f.Clock.Advance(25 * time.Hour) }

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// dial connects to addr, with TLS when tlsConf is set, and bounds the
// whole conversation by ioTimeout.
func dial(t *testing.T, addr string, tlsConf *tls.Config) net.Conn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, ioTimeout)
	if err != nil {
		t.Fatal(err)
	}
	if tlsConf != nil {
		conn = tls.Client(conn, tlsConf)
	}
	if err := conn.SetDeadline(time.Now().Add(ioTimeout)); err != nil {
		conn.Close()
		t.Fatal(err)
	}
	return conn
}

// wire is a raw protocol conversation, for pinning the exact lines Dovecot
// sends.
type wire struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialWire(t *testing.T, addr string, tlsConf *tls.Config) *wire {
	t.Helper()
	conn := dial(t, addr, tlsConf)
	t.Cleanup(func() { conn.Close() })
	return &wire{t: t, conn: conn, r: bufio.NewReader(conn)}
}

func (w *wire) send(line string) {
	w.t.Helper()
	if _, err := w.conn.Write([]byte(line + "\r\n")); err != nil {
		w.t.Fatalf("send %.40q: %v", line, err)
	}
}

// recv returns the next line without its CRLF.
func (w *wire) recv() string {
	w.t.Helper()
	line, err := w.r.ReadString('\n')
	if err != nil {
		w.t.Fatalf("read: %v (got %q)", err, line)
	}
	if !strings.HasSuffix(line, "\r\n") {
		w.t.Fatalf("line %q does not end in CRLF", line)
	}
	return strings.TrimSuffix(line, "\r\n")
}

func (w *wire) expect(want string) {
	w.t.Helper()
	if got := w.recv(); got != want {
		w.t.Fatalf("server sent %q, want %q", got, want)
	}
}

func (w *wire) expectPrefix(prefix string) string {
	w.t.Helper()
	got := w.recv()
	if !strings.HasPrefix(got, prefix) {
		w.t.Fatalf("server sent %q, want it to start with %q", got, prefix)
	}
	return got
}

// ehlo greets a submission server and reads its capabilities.
func (w *wire) ehlo() {
	w.t.Helper()
	w.expectPrefix("220 ")
	w.send("EHLO client.test")
	for {
		if line := w.expectPrefix("250"); strings.HasPrefix(line, "250 ") {
			return
		}
	}
}

// dialIMAP connects go-imap/v2's client; tlsConf set means implicit TLS.
func dialIMAP(t *testing.T, addr string, tlsConf *tls.Config) *imapclient.Client {
	t.Helper()
	c := imapclient.New(dial(t, addr, tlsConf), nil)
	t.Cleanup(func() { c.Close() })
	if err := c.WaitGreeting(); err != nil {
		t.Fatal(err)
	}
	return c
}

// dialSMTP connects go-smtp's client; tlsConf set means implicit TLS.
func dialSMTP(t *testing.T, addr string, tlsConf *tls.Config) *smtp.Client {
	t.Helper()
	c := smtp.NewClient(dial(t, addr, tlsConf))
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	return c
}

// laterIR withholds the initial response from AUTH, so that go-smtp sends
// "AUTH XOAUTH2" alone and the response after Dovecot's "334 " (oauthsasl's
// clients answer an empty first challenge with it). Dovecot's
// submission-login refuses AUTH command lines over 1024 bytes ("500 5.5.2
// Line too long"), which a JWT access token exceeds, but takes responses of
// up to 8 KiB.
type laterIR struct{ sasl.Client }

func (c laterIR) Start() (string, []byte, error) {
	mech, _, err := c.Client.Start()
	return mech, nil, err
}

// clip quotes b for a failure message, cut to a readable length.
func clip(b []byte) string {
	const max = 300
	if len(b) > max {
		return fmt.Sprintf("%q... (%d bytes)", b[:max], len(b))
	}
	return fmt.Sprintf("%q", b)
}

// describe lists messages for a failure message.
func describe(msgs []Message) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d messages", len(msgs))
	for _, m := range msgs {
		fmt.Fprintf(&b, "; UID %d flags %q data %s", m.UID, m.Flags, clip(m.Data))
	}
	return b.String()
}
