package oauthsasl

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"
)

// hangTimeout bounds every wait on a client: a client stuck in an exchange
// fails the test instead of blocking it.
const hangTimeout = 10 * time.Second

// within runs f and fails the test if it has not returned in hangTimeout.
func within(t *testing.T, what string, f func() error) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- f() }()
	timer := time.NewTimer(hangTimeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return err
	case <-timer.C:
		t.Fatalf("%s did not return within %v: the client hangs", what, hangTimeout)
		return nil
	}
}

func dialIMAP(t *testing.T, addr string) *imapclient.Client {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(hangTimeout))
	c := imapclient.New(conn, nil)
	t.Cleanup(func() { c.Close() })
	if err := within(t, "greeting", c.WaitGreeting); err != nil {
		t.Fatal(err)
	}
	return c
}

const imapPassword = "not used by clients"

// imapSession adds this package's mechanisms to an in-memory IMAP session.
// A successful token check logs the session in as the mailbox user, which
// for a shared mailbox is not the token's account.
type imapSession struct {
	imapserver.Session
}

func (s *imapSession) AuthenticateMechanisms() []string { return []string{XOAUTH2, OAUTHBEARER} }

func (s *imapSession) Authenticate(mech string) (sasl.Server, error) {
	login := func(user, token string) error {
		if err := checkToken(user, token); err != nil {
			return err
		}
		return s.Session.Login(user, imapPassword)
	}
	var srv sasl.Server
	switch mech {
	case XOAUTH2:
		srv = NewXOAUTH2Server(login)
	case OAUTHBEARER:
		srv = NewOAUTHBEARERServer(func(p OAUTHBEARERParams) error {
			user := p.Authzid
			if user == "" {
				user = testTokens[p.Token]
			}
			return login(user, p.Token)
		})
	default:
		return nil, &imap.Error{Type: imap.StatusResponseTypeNo, Text: "Unsupported mechanism"}
	}
	return MapErrors(srv, imapAuthError), nil
}

// imapAuthError turns the mechanisms' errors into the replies Gmail sends;
// go-imap/v2 would answer anything but an *imap.Error with "internal server
// error".
func imapAuthError(err error) error {
	switch {
	case errors.Is(err, ErrAuthFailed):
		return &imap.Error{Type: imap.StatusResponseTypeNo, Code: imap.ResponseCodeAuthenticationFailed, Text: "Invalid credentials (Failure)"}
	case errors.Is(err, ErrMalformed):
		return &imap.Error{Type: imap.StatusResponseTypeBad, Text: "Invalid SASL argument"}
	}
	return err
}

// startIMAP serves go-imap/v2's in-memory server, with this package's
// mechanisms, on a loopback port. Only shared@example.com has a "Team"
// mailbox, which tells the test whose mailbox a login opened.
func startIMAP(t *testing.T) string {
	t.Helper()
	mem := imapmemserver.New()
	for _, name := range []string{"alice@example.com", "shared@example.com"} {
		u := imapmemserver.NewUser(name, imapPassword)
		if err := u.Create("INBOX", nil); err != nil {
			t.Fatal(err)
		}
		if name == "shared@example.com" {
			if err := u.Create("Team", nil); err != nil {
				t.Fatal(err)
			}
		}
		mem.AddUser(u)
	}
	srv := imapserver.New(&imapserver.Options{
		NewSession: func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
			return &imapSession{Session: mem.NewSession()}, nil, nil
		},
		Caps:         imap.CapSet{imap.CapIMAP4rev1: {}},
		InsecureAuth: true,
		Logger:       log.New(io.Discard, "", 0),
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return ln.Addr().String()
}

func TestIMAPServer(t *testing.T) {
	addr := startIMAP(t)
	newClients := []struct {
		mech   string
		client func(user, token string) testClient
	}{
		{XOAUTH2, func(user, token string) testClient { return NewXOAUTH2Client(user, token) }},
		{OAUTHBEARER, func(user, token string) testClient { return NewOAUTHBEARERClient(user, token, "127.0.0.1", 993) }},
	}
	for _, nc := range newClients {
		t.Run(nc.mech, func(t *testing.T) {
			c := dialIMAP(t, addr)

			bad := nc.client("shared@example.com", "ya29.bob")
			err := within(t, "Authenticate", func() error { return c.Authenticate(bad) })
			var ie *imap.Error
			if !errors.As(err, &ie) || ie.Type != imap.StatusResponseTypeNo || ie.Code != imap.ResponseCodeAuthenticationFailed {
				t.Fatalf("Authenticate with a bad token = %v, want NO [AUTHENTICATIONFAILED]", err)
			}
			if f := bad.Failure(); f == nil || *f != *gmailFailure {
				t.Errorf("Failure() = %+v, want %+v", f, gmailFailure)
			}

			// Still in step after the failure: the next login works and
			// opens the shared mailbox, not the token owner's.
			good := nc.client("shared@example.com", "ya29.alice")
			if err := within(t, "Authenticate", func() error { return c.Authenticate(good) }); err != nil {
				t.Fatalf("Authenticate with a good token after a failure: %v", err)
			}
			err = within(t, "STATUS", func() error {
				_, err := c.Status("Team", &imap.StatusOptions{NumMessages: true}).Wait()
				return err
			})
			if err != nil {
				t.Errorf("STATUS Team in the shared mailbox: %v", err)
			}
		})
	}
}

// With no a=, the OAUTHBEARER authenticator logs in the token's account.
func TestIMAPServerOAUTHBEARERWithoutAuthzid(t *testing.T) {
	c := dialIMAP(t, startIMAP(t))
	if err := within(t, "Authenticate", func() error {
		return c.Authenticate(NewOAUTHBEARERClient("", "ya29.alice", "", 0))
	}); err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	err := within(t, "STATUS", func() error {
		_, err := c.Status("Team", nil).Wait()
		return err
	})
	if err == nil {
		t.Error("alice's session sees the shared mailbox's Team folder")
	}
}

// gmailIMAP plays a Gmail-like IMAP server for one connection on a
// loopback port: no SASL-IR, so the server asks for the initial response,
// then a failure challenge, then NO, then NOOP. It checks what the client
// sends and reports the client's answer to the failure challenge.
func gmailIMAP(t *testing.T, mech string, wantIR []byte, extraChallenge bool) (addr string, answer <-chan []byte) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	answers := make(chan []byte, 1)
	done := make(chan struct{})
	t.Cleanup(func() {
		ln.Close()
		<-done
	})
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(hangTimeout))
		r := bufio.NewReader(conn)
		send := func(format string, args ...any) { fmt.Fprintf(conn, format+"\r\n", args...) }
		read := func() string {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Errorf("server reading: %v", err)
			}
			return strings.TrimRight(line, "\r\n")
		}
		decode := func(line string) []byte {
			if line == "=" {
				return []byte{}
			}
			b, err := base64.StdEncoding.DecodeString(line)
			if err != nil {
				t.Errorf("client sent %q, not base64: %v", line, err)
			}
			return b
		}

		send("* OK [CAPABILITY IMAP4rev1 AUTH=XOAUTH2 AUTH=OAUTHBEARER] Gimap ready")
		tag, cmd, _ := strings.Cut(read(), " ")
		if cmd != "AUTHENTICATE "+mech {
			t.Errorf("client sent %q, want %q with no initial response", cmd, "AUTHENTICATE "+mech)
		}
		send("+ ")
		if ir := decode(read()); string(ir) != string(wantIR) {
			t.Errorf("initial response %q, want %q", ir, wantIR)
		}
		send("+ %s", base64.StdEncoding.EncodeToString(gmailFailure.marshal()))
		answers <- decode(read())
		if extraChallenge {
			send("+ %s", base64.StdEncoding.EncodeToString(gmailFailure.marshal()))
			// The client gives up; nothing more to check.
			return
		}
		send("%s NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)", tag)
		tag, cmd, _ = strings.Cut(read(), " ")
		if cmd != "NOOP" {
			t.Errorf("client sent %q, want NOOP", cmd)
		}
		send("%s OK Success", tag)
	}()
	return ln.Addr().String(), answers
}

// The go-imap/v2 trap in docs/providers.md: Authenticate must return after
// a failure challenge, with the server's reply and the challenge's details.
func TestIMAPClientFailureChallenge(t *testing.T) {
	for _, m := range mechanisms {
		t.Run(m.name, func(t *testing.T) {
			client := m.client("alice@example.com", "ya29.expired")
			_, ir, _ := client.Start()
			addr, answers := gmailIMAP(t, m.name, ir, false)
			c := dialIMAP(t, addr)

			err := within(t, "Authenticate", func() error { return c.Authenticate(client) })
			var ie *imap.Error
			if !errors.As(err, &ie) || ie.Code != imap.ResponseCodeAuthenticationFailed {
				t.Fatalf("Authenticate = %v, want NO [AUTHENTICATIONFAILED]", err)
			}
			if f := client.Failure(); f == nil || f.Status != "401" || f.Scope != "https://mail.google.com/" {
				t.Errorf("Failure() = %+v", f)
			}
			if got := <-answers; string(got) != string(m.answer) {
				t.Errorf("answer to the failure challenge %q, want %q", got, m.answer)
			}
			if err := within(t, "NOOP", c.Noop().Wait); err != nil {
				t.Errorf("NOOP after the failed login: %v", err)
			}
		})
	}
}

// A server that keeps challenging after the failure answer gets an error
// from Authenticate, promptly.
func TestIMAPClientSecondChallenge(t *testing.T) {
	client := NewXOAUTH2Client("alice@example.com", "ya29.expired")
	_, ir, _ := client.Start()
	addr, _ := gmailIMAP(t, XOAUTH2, ir, true)
	c := dialIMAP(t, addr)
	err := within(t, "Authenticate", func() error { return c.Authenticate(client) })
	if !errors.Is(err, sasl.ErrUnexpectedServerChallenge) {
		t.Errorf("Authenticate = %v, want ErrUnexpectedServerChallenge", err)
	}
}
