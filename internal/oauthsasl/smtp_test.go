package oauthsasl

import (
	"encoding/base64"
	"errors"
	"io"
	"log"
	"net"
	"net/textproto"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// smtpBackend is a go-smtp server backend whose AUTH uses this package's
// server mechanisms with checkToken, and which records what it saw.
type smtpBackend struct {
	// check, if set, replaces checkToken.
	check Authenticator

	mu        sync.Mutex
	responses [][]byte // every SASL response the mechanisms were given
	mailFrom  []string // "user: from" for each accepted MAIL
}

func (b *smtpBackend) NewSession(*smtp.Conn) (smtp.Session, error) { return &smtpSession{be: b}, nil }

func (b *smtpBackend) verify(user, token string) error {
	if b.check != nil {
		return b.check(user, token)
	}
	return checkToken(user, token)
}

type smtpSession struct {
	be   *smtpBackend
	user string
}

func (s *smtpSession) AuthMechanisms() []string { return []string{XOAUTH2, OAUTHBEARER} }

func (s *smtpSession) Auth(mech string) (sasl.Server, error) {
	var srv sasl.Server
	switch mech {
	case XOAUTH2:
		srv = NewXOAUTH2Server(func(user, token string) error {
			if err := s.be.verify(user, token); err != nil {
				return err
			}
			s.user = user
			return nil
		})
	case OAUTHBEARER:
		srv = NewOAUTHBEARERServer(func(p OAUTHBEARERParams) error {
			user := p.Authzid
			if user == "" {
				user = testTokens[p.Token]
			}
			if err := s.be.verify(user, p.Token); err != nil {
				return err
			}
			s.user = user
			return nil
		})
	default:
		return nil, smtp.ErrAuthUnknownMechanism
	}
	return MapErrors(recordingServer{srv, s.be}, smtpAuthError), nil
}

// smtpAuthError turns the mechanisms' errors into the replies Gmail and
// Microsoft send.
func smtpAuthError(err error) error {
	switch {
	case errors.Is(err, ErrAuthFailed):
		return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "Username and Password not accepted"}
	case errors.Is(err, ErrMalformed):
		return &smtp.SMTPError{Code: 501, EnhancedCode: smtp.EnhancedCode{5, 5, 2}, Message: "Cannot decode response"}
	}
	return err
}

type recordingServer struct {
	s  sasl.Server
	be *smtpBackend
}

func (r recordingServer) Next(response []byte) ([]byte, bool, error) {
	r.be.mu.Lock()
	r.be.responses = append(r.be.responses, response)
	r.be.mu.Unlock()
	return r.s.Next(response)
}

func (s *smtpSession) Mail(from string, _ *smtp.MailOptions) error {
	if s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.be.mu.Lock()
	s.be.mailFrom = append(s.be.mailFrom, s.user+": "+from)
	s.be.mu.Unlock()
	return nil
}
func (s *smtpSession) Rcpt(string, *smtp.RcptOptions) error { return nil }
func (s *smtpSession) Data(r io.Reader) error               { _, err := io.Copy(io.Discard, r); return err }
func (s *smtpSession) Reset()                               {}
func (s *smtpSession) Logout() error                        { return nil }

// startSMTP serves be on a loopback port and returns its address.
func startSMTP(t *testing.T, be *smtpBackend) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := smtp.NewServer(be)
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true
	// An AUTH line with a Microsoft JWT is longer than go-smtp's default.
	srv.MaxLineLength = 64 << 10
	srv.ReadTimeout = 10 * time.Second
	srv.ErrorLog = log.New(io.Discard, "", 0)
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

// dialSMTP connects with a deadline, so that a client stuck waiting for the
// server fails the test instead of blocking it.
func dialSMTP(t *testing.T, addr string) *smtp.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	c := smtp.NewClient(conn)
	t.Cleanup(func() { c.Close() })
	if err := c.Hello("client.example.com"); err != nil {
		t.Fatal(err)
	}
	return c
}

func (b *smtpBackend) lastResponse() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.responses[len(b.responses)-1]
}

func TestSMTP(t *testing.T) {
	be := &smtpBackend{}
	addr := startSMTP(t, be)
	clients := []struct {
		mech   string
		client func(user, token string) testClient
		answer string
	}{
		{XOAUTH2, func(user, token string) testClient { return NewXOAUTH2Client(user, token) }, ""},
		{OAUTHBEARER, func(user, token string) testClient {
			host, port, _ := net.SplitHostPort(addr)
			n, _ := strconv.Atoi(port)
			return NewOAUTHBEARERClient(user, token, host, n)
		}, "\x01"},
	}
	for _, cl := range clients {
		t.Run(cl.mech, func(t *testing.T) {
			c := dialSMTP(t, addr)

			// A rejected token: the client answers the challenge and gets
			// the 535, with the challenge's details kept.
			bad := cl.client("shared@example.com", "ya29.bob")
			err := c.Auth(bad)
			var se *smtp.SMTPError
			if !errors.As(err, &se) || se.Code != 535 {
				t.Fatalf("Auth with a bad token = %v, want a 535 error", err)
			}
			if f := bad.Failure(); f == nil || *f != *gmailFailure {
				t.Errorf("Failure() = %+v, want %+v", f, gmailFailure)
			}
			if got := string(be.lastResponse()); got != cl.answer {
				t.Errorf("client answered the failure with %q, want %q", got, cl.answer)
			}

			// The connection is still in step: a good token now works, for
			// a shared mailbox the token's account is a delegate of.
			if err := c.Auth(cl.client("shared@example.com", "ya29.alice")); err != nil {
				t.Fatalf("Auth with a good token after a failure: %v", err)
			}
			if err := c.Mail("shared@example.com", nil); err != nil {
				t.Fatalf("MAIL after AUTH: %v", err)
			}
			be.mu.Lock()
			last := be.mailFrom[len(be.mailFrom)-1]
			be.mu.Unlock()
			if last != "shared@example.com: shared@example.com" {
				t.Errorf("server saw %q", last)
			}
		})
	}
}

// A Microsoft 365 access token is a JWT of a few kilobytes; the AUTH line
// carrying it must get through a server with a raised MaxLineLength.
func TestSMTPLongToken(t *testing.T) {
	token := "eyJ0eXAiOiJKV1QifQ." + strings.Repeat("A", 2000) + ".sig"

	line := "AUTH XOAUTH2 " + base64.StdEncoding.EncodeToString(XOAUTH2Response("alice@example.com", token))
	if len(line) <= 2000 {
		t.Fatalf("AUTH line is %d bytes; the test needs more than go-smtp's default 2000", len(line))
	}
	var got string
	be := &smtpBackend{check: func(user, tok string) error { got = tok; return nil }}
	c := dialSMTP(t, startSMTP(t, be))
	if err := c.Auth(NewXOAUTH2Client("alice@example.com", token)); err != nil {
		t.Fatalf("Auth: %v", err)
	}
	if got != token {
		t.Errorf("server got a token of %d bytes, want %d", len(got), len(token))
	}
}

// Microsoft refuses without a failure challenge; the server mechanism passes
// the authenticator's own SMTP error through unchanged.
func TestSMTPRejectWithoutChallenge(t *testing.T) {
	disabled := &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 139}, Message: "Authentication unsuccessful, SmtpClientAuthentication is disabled for the Mailbox."}
	be := &smtpBackend{check: func(string, string) error { return disabled }}
	c := dialSMTP(t, startSMTP(t, be))
	client := NewXOAUTH2Client("alice@example.com", "ya29.alice")
	err := c.Auth(client)
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 535 || se.EnhancedCode != disabled.EnhancedCode {
		t.Fatalf("Auth = %v, want 535 5.7.139", err)
	}
	if client.Failure() != nil {
		t.Errorf("Failure() = %+v, want nil when no challenge was sent", client.Failure())
	}
}

// A malformed initial response ends at once with the protocol error.
func TestSMTPMalformed(t *testing.T) {
	be := &smtpBackend{}
	c := dialSMTP(t, startSMTP(t, be))
	err := c.Auth(rawClient{XOAUTH2, []byte("user=alice@example.com\x01auth=Basic YTpi\x01\x01")})
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 501 {
		t.Fatalf("Auth = %v, want 501", err)
	}
}

// rawClient sends a fixed initial response and gives up on any challenge.
type rawClient struct {
	mech string
	ir   []byte
}

func (c rawClient) Start() (string, []byte, error) { return c.mech, c.ir, nil }
func (c rawClient) Next([]byte) ([]byte, error)    { return nil, errors.New("unexpected challenge") }

// go-smtp's client always sends an initial response, so this speaks SMTP by
// hand to check the server side of the other case: "AUTH <mech>" alone gets
// an empty 334, where go-sasl's OAUTHBEARER server panics.
func TestSMTPServerAsksForInitialResponse(t *testing.T) {
	be := &smtpBackend{}
	conn, err := net.Dial("tcp", startSMTP(t, be))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	tc := textproto.NewConn(conn)
	step := func(wantCode int, wantMsg string, format string, args ...any) {
		t.Helper()
		if format != "" {
			if err := tc.PrintfLine(format, args...); err != nil {
				t.Fatal(err)
			}
		}
		code, msg, err := tc.ReadResponse(wantCode)
		if err != nil {
			t.Fatalf("after %q: %d %q: %v", format, code, msg, err)
		}
		if wantMsg != "*" && msg != wantMsg {
			t.Fatalf("after %q: %d %q, want %d %q", format, code, msg, wantCode, wantMsg)
		}
	}
	b64 := base64.StdEncoding.EncodeToString
	step(220, "*", "")
	step(250, "*", "EHLO client.example.com")

	step(334, "", "AUTH OAUTHBEARER")
	step(334, b64(gmailFailure.marshal()), "%s", b64(OAUTHBEARERResponse("alice@example.com", "", 0, "ya29.bob")))
	step(535, "*", "%s", b64([]byte{0x01}))

	step(334, "", "AUTH XOAUTH2")
	step(235, "*", "%s", b64(XOAUTH2Response("alice@example.com", "ya29.alice")))
}
