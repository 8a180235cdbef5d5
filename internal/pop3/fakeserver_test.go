package pop3_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"strings"
	"testing"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/pop3"
	"mailtokens/internal/sandbox/mailauth"
)

// Servers that misbehave in ways pop3d does not, scripted line by line.

// script is a fake server's side of one connection.
type script func(r *textproto.Reader, w *bufio.Writer) error

// fakeServer serves one connection with s and reports the script's error
// when the test ends.
func fakeServer(t *testing.T, s script) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		conn, err := ln.Accept()
		if err != nil {
			done <- err
			return
		}
		defer conn.Close()
		done <- s(textproto.NewReader(bufio.NewReader(conn)), bufio.NewWriter(conn))
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		if err := <-done; err != nil {
			t.Errorf("fake server: %v", err)
		}
	})
	return ln.Addr().String()
}

// say writes lines, each with CRLF, in one write.
func say(w *bufio.Writer, lines ...string) error {
	for _, l := range lines {
		w.WriteString(l + "\r\n")
	}
	return w.Flush()
}

// expect reads a line and checks it.
func expect(r *textproto.Reader, want string) error {
	got, err := r.ReadLine()
	if err != nil {
		return fmt.Errorf("waiting for %q: %w", want, err)
	}
	if got != want {
		return fmt.Errorf("got %q, want %q", got, want)
	}
	return nil
}

// TestServerWithoutCAPA: an RFC 1939 server answers CAPA with -ERR; the
// client takes that as "no capabilities" and goes on.
func TestServerWithoutCAPA(t *testing.T) {
	addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
		say(w, "+OK POP3 server ready")
		if err := expect(r, "CAPA"); err != nil {
			return err
		}
		say(w, "-ERR unknown command")
		if err := expect(r, "NOOP"); err != nil {
			return err
		}
		return say(w, "+OK")
	})
	c := dial(t, addr, mailauth.Plain)
	caps, err := c.Capabilities(context.Background())
	if err != nil || caps != nil {
		t.Fatalf("Capabilities() = %q, %v; want nil, nil", caps, err)
	}
	if err := c.Noop(); err != nil {
		t.Fatal(err)
	}
}

func TestGreetingRefused(t *testing.T) {
	addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
		return say(w, "-ERR [SYS/TEMP] Server busy, try later")
	})
	_, err := pop3.Dial(context.Background(), addr, nil, testTimeout)
	var perr *pop3.Error
	if !errors.As(err, &perr) || perr.Command != "greeting" || perr.Code != pop3.CodeSysTemp || !perr.Temporary() {
		t.Fatalf("Dial to a refusing server: %#v", err)
	}
}

// TestGarbageReply: a reply that is neither +OK nor -ERR leaves the client
// unable to tell which reply belongs to which command, so it stops.
func TestGarbageReply(t *testing.T) {
	addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
		say(w, "+OK hello")
		if err := expect(r, "NOOP"); err != nil {
			return err
		}
		say(w, "HTTP/1.1 400 Bad Request")
		_, err := r.ReadLine() // the client hangs up
		if err == nil {
			return errors.New("the client sent another command")
		}
		return nil
	})
	c := dial(t, addr, mailauth.Plain)
	if err := c.Noop(); !errors.Is(err, pop3.ErrMalformed) {
		t.Fatalf("Noop: %v, want ErrMalformed", err)
	}
	if err := c.Noop(); err == nil {
		t.Fatal("second Noop succeeded")
	}
}

// TestSTLSInjection: bytes that arrive together with the +OK to STLS were
// sent in the clear and must not be taken as replies inside TLS.
func TestSTLSInjection(t *testing.T) {
	addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
		say(w, "+OK ready")
		if err := expect(r, "CAPA"); err != nil {
			return err
		}
		say(w, "+OK", "STLS", ".")
		if err := expect(r, "STLS"); err != nil {
			return err
		}
		return say(w, "+OK Begin TLS", "+OK injected")
	})
	c := dial(t, addr, mailauth.Plain)
	_, cfg := testTLS(t)
	if err := c.StartTLS(cfg); !errors.Is(err, pop3.ErrMalformed) {
		t.Fatalf("StartTLS with injected bytes: %v, want ErrMalformed", err)
	}
}

// TestAuthKeepsChallenging: a server that answers every response with
// another challenge is cut short: the mechanism refuses the second failure
// challenge, the client cancels with "*", and the connection stays usable.
func TestAuthKeepsChallenging(t *testing.T) {
	addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
		say(w, "+OK ready")
		if err := expect(r, "AUTH XOAUTH2"); err != nil {
			return err
		}
		for {
			say(w, "+ eyJzdGF0dXMiOiI0MDAifQ==") // {"status":"400"}
			line, err := r.ReadLine()
			if err != nil {
				return err
			}
			if line == "*" {
				break
			}
		}
		say(w, "-ERR cancelled")
		if err := expect(r, "NOOP"); err != nil {
			return err
		}
		return say(w, "+OK")
	})
	c := dial(t, addr, mailauth.Plain)
	err := c.Auth(oauthsasl.NewXOAUTH2Client("user@example.test", "tok"))
	var perr *pop3.Error
	if err == nil || errors.As(err, &perr) {
		t.Fatalf("Auth: %v, want the mechanism's error", err)
	}
	if err := c.Noop(); err != nil {
		t.Fatalf("Noop after a cancelled AUTH: %v", err)
	}
}

// TestAuthInitialResponseOnRequest: the initial response goes out only
// after the server's "+", however the server writes it.
func TestAuthInitialResponseOnRequest(t *testing.T) {
	for _, cont := range []string{"+", "+ ", "+ ="} {
		t.Run(fmt.Sprintf("%q", cont), func(t *testing.T) {
			addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
				say(w, "+OK ready")
				if err := expect(r, "AUTH XOAUTH2"); err != nil {
					return err
				}
				say(w, cont)
				// base64("user=u@example.test\x01auth=Bearer tok\x01\x01")
				if err := expect(r, "dXNlcj11QGV4YW1wbGUudGVzdAFhdXRoPUJlYXJlciB0b2sBAQ=="); err != nil {
					return err
				}
				return say(w, "+OK User successfully authenticated.")
			})
			c := dial(t, addr, mailauth.Plain)
			if err := c.Auth(oauthsasl.NewXOAUTH2Client("u@example.test", "tok")); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestMalformedListings: a listing line that makes no sense fails the call
// but is read to its end, so the connection stays usable.
func TestMalformedListings(t *testing.T) {
	addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
		say(w, "+OK ready")
		if err := expect(r, "UIDL"); err != nil {
			return err
		}
		say(w, "+OK", "1 ok-uid", "2 uid with spaces", ".")
		if err := expect(r, "LIST"); err != nil {
			return err
		}
		say(w, "+OK", "1 -5", ".")
		if err := expect(r, "STAT"); err != nil {
			return err
		}
		say(w, "+OK many")
		if err := expect(r, "NOOP"); err != nil {
			return err
		}
		return say(w, "+OK")
	})
	c := dial(t, addr, mailauth.Plain)
	if _, err := c.UIDL(); !errors.Is(err, pop3.ErrMalformed) {
		t.Errorf("UIDL: %v, want ErrMalformed", err)
	}
	if _, err := c.List(); !errors.Is(err, pop3.ErrMalformed) {
		t.Errorf("List: %v, want ErrMalformed", err)
	}
	if _, _, err := c.Stat(); !errors.Is(err, pop3.ErrMalformed) {
		t.Errorf("Stat: %v, want ErrMalformed", err)
	}
	if err := c.Noop(); err != nil {
		t.Errorf("Noop after malformed listings: %v", err)
	}
}

// TestReplyCutBeforeLineEnd: a reply line the connection cuts before its
// line end is no reply. A RETR answered by a bare "+OK" and a close must
// not open an (empty) message; a cut listing line is not a listing line.
func TestReplyCutBeforeLineEnd(t *testing.T) {
	for _, tc := range []struct {
		name, sent string
		call       func(*pop3.Client) error
	}{
		{"RETR", "+OK", func(c *pop3.Client) error {
			rc, err := c.Retr(1)
			if err != nil {
				return err
			}
			_, err = io.Copy(io.Discard, rc)
			return err
		}},
		{"UIDL", "+OK\r\n1 uid-cut-he", func(c *pop3.Client) error { _, err := c.UIDL(); return err }},
		{"UIDL", "+OK\r\n1 uid\r\n.", func(c *pop3.Client) error { _, err := c.UIDL(); return err }},
		{"NOOP", "+O", func(c *pop3.Client) error { return c.Noop() }},
	} {
		addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
			say(w, "+OK ready")
			if _, err := r.ReadLine(); err != nil {
				return err
			}
			w.WriteString(tc.sent)
			return w.Flush()
		})
		c := dial(t, addr, mailauth.Plain)
		if err := tc.call(c); !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Errorf("%s cut after %q: %v, want io.ErrUnexpectedEOF", tc.name, tc.sent, err)
		}
	}
}

// TestRepliesOverLimits: a reply line or a listing beyond what any server
// sends fails the connection with ErrTooLong before it is held in memory.
func TestRepliesOverLimits(t *testing.T) {
	long := strings.Repeat("x", pop3.MaxLineLength+1)
	for _, tc := range []struct {
		name string
		sent func(w *bufio.Writer)
	}{
		{"status line", func(w *bufio.Writer) { w.WriteString("+OK " + long + "\r\n") }},
		{"listing line", func(w *bufio.Writer) { w.WriteString("+OK\r\n1 " + long + "\r\n.\r\n") }},
		{"listing lines", func(w *bufio.Writer) {
			w.WriteString("+OK\r\n")
			for i := range pop3.MaxListingLines + 1 {
				fmt.Fprintf(w, "%d u%d\r\n", i+1, i)
			}
			w.WriteString(".\r\n")
		}},
		{"listing bytes", func(w *bufio.Writer) {
			w.WriteString("+OK\r\n")
			for i := range pop3.MaxListingBytes / 1000 {
				fmt.Fprintf(w, "%d %s\r\n", i+1, strings.Repeat("u", 1000))
			}
			w.WriteString(".\r\n")
		}},
	} {
		addr := fakeServer(t, func(r *textproto.Reader, w *bufio.Writer) error {
			say(w, "+OK ready")
			if err := expect(r, "UIDL"); err != nil {
				return err
			}
			tc.sent(w)
			w.Flush() // fails once the client has hung up
			return nil
		})
		c := dial(t, addr, mailauth.Plain)
		if _, err := c.UIDL(); !errors.Is(err, pop3.ErrTooLong) || !c.Broken() {
			t.Errorf("%s over the limit: %v (broken %v), want ErrTooLong", tc.name, err, c.Broken())
		}
	}
}
