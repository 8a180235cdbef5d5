package mailconn

import (
	"context"
	"errors"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/sandbox/hostile"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/secret"
)

// dialHostile logs in to a hostile server in clear with a password.
func dialHostile(s *hostile.Server, timeout time.Duration) (*IMAPClient, error) {
	return dialHostileTLS(s, timeout, mailserver.NONE, nil)
}

// dialHostileTLS logs in with a password to a hostile server with the
// given security, trusting cert.
func dialHostileTLS(s *hostile.Server, timeout time.Duration, sec mailserver.Security, cert *testcert.Cert) (*IMAPClient, error) {
	host, port, _ := strings.Cut(s.Addr(), ":")
	p, _ := strconv.Atoi(port)
	srv := mailserver.Server{Host: host, Port: p, Security: sec, Timeout: timeout}
	if cert != nil {
		srv.RootCAs = cert.Pool()
	}
	return DialIMAP(context.Background(), srv, Auth{User: "u", Password: secret.New("p")}, Options{}, nil)
}

// TestIMAPSilentLogin: a server silent at the greeting or at LOGIN fails
// the login after one Timeout, although go-imap clears read deadlines.
func TestIMAPSilentLogin(t *testing.T) {
	const timeout = 500 * time.Millisecond
	for name, steps := range map[string][]hostile.Step{
		"greeting": nil,
		"LOGIN":    {{Send: "* OK [CAPABILITY IMAP4rev1] ready\r\n"}, {Expect: `^\S+ LOGIN `}},
	} {
		t.Run(name, func(t *testing.T) {
			s := hostile.Listen(t, nil, hostile.Script(append(steps, hostile.Step{Stall: true})...))
			start := time.Now()
			c, err := dialHostile(s, timeout)
			if err == nil {
				c.Close()
				t.Fatal("logged in to a silent server")
			}
			if d := time.Since(start); d > timeout*17/10 || !strings.Contains(err.Error(), "sent nothing") {
				t.Fatalf("after %v: %v; want one timeout (%v) and a word about the silence", d, err, timeout)
			}
		})
	}
}

// TestIMAPEndlessReply: a 300 MB line without a line end fails the login
// with a clear error once it passes MaxIMAPReply, without taking the
// memory it would fill: as the greeting, and after STARTTLS, where the
// bound must read IMAP text, not the TLS records that carry it.
func TestIMAPEndlessReply(t *testing.T) {
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	chunk := strings.Repeat("x", 64<<10)
	endless := []hostile.Step{{Send: "* OK "}, {Send: chunk, Repeat: 300 << 20 / len(chunk)}}
	for _, tc := range []struct {
		name  string
		sec   mailserver.Security
		steps []hostile.Step
	}{
		{"greeting", mailserver.NONE, endless},
		{"greeting before STARTTLS", mailserver.STARTTLS, endless},
		{"after STARTTLS", mailserver.STARTTLS, append([]hostile.Step{
			{Send: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"},
			{Expect: `^\S+ STARTTLS$`, Send: "$tag OK begin TLS\r\n", TLS: cert.ServerTLS()},
		}, endless...)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := hostile.Listen(t, nil, hostile.Script(tc.steps...))
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			start := time.Now()
			c, err := dialHostileTLS(s, 10*time.Second, tc.sec, cert)
			runtime.ReadMemStats(&after)
			if err == nil {
				c.Close()
				t.Fatal("logged in after a 300 MB line")
			}
			mb := (after.TotalAlloc - before.TotalAlloc) >> 20
			t.Logf("%d MiB allocated: %v", mb, err)
			var long *ReplyTooLongError
			if !errors.As(err, &long) || mb > 64 {
				t.Fatalf("after %v and %d MiB allocated: %v; want a word about the reply's length, within 64 MiB", time.Since(start), mb, err)
			}
		})
	}
}

// TestIMAPStartTLS: mailconn does IMAP's STARTTLS itself. It finds
// STARTTLS in the greeting's capabilities or asks for them, forgets them
// once in TLS and asks again, and logs in only inside TLS; a server that
// does not offer STARTTLS, refuses it, greets with PREAUTH or slips data
// in before TLS is refused with a TLS-stage error, and no login is sent
// in the clear.
func TestIMAPStartTLS(t *testing.T) {
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	starttls := hostile.Step{Expect: `^\S+ STARTTLS$`, Send: "$tag OK begin TLS\r\n", TLS: cert.ServerTLS()}
	// Inside TLS the client asks for the capabilities again, and the
	// login goes with what the server says then.
	inside := []hostile.Step{
		{Expect: `^\S+ CAPABILITY$`, Send: "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n$tag OK done\r\n"},
		{Expect: `^\S+ LOGIN `, Send: "$tag OK logged in\r\n"},
	}
	for _, tc := range []struct {
		name   string
		steps  []hostile.Step
		reply  string // "" = logs in
		advice string
	}{
		{"capabilities in the greeting", append([]hostile.Step{
			{Send: "* OK [CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED] ready\r\n"}, starttls}, inside...), "", ""},
		{"capabilities asked for", append([]hostile.Step{
			{Send: "* OK ready\r\n"},
			{Expect: `^\S+ CAPABILITY$`, Send: "* CAPABILITY IMAP4rev1 STARTTLS LOGINDISABLED\r\n$tag OK done\r\n"}, starttls}, inside...), "", ""},
		{"lower case", append([]hostile.Step{
			{Send: "* ok [capability imap4rev1 starttls] ready\r\n"}, starttls}, inside...), "", ""},
		{"not offered", []hostile.Step{{Send: "* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] ready\r\n"}}, "STARTTLS not offered", "does not offer STARTTLS"},
		{"not offered, asked for", []hostile.Step{
			{Send: "* OK ready\r\n"},
			{Expect: `^\S+ CAPABILITY$`, Send: "* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n$tag OK done\r\n"}}, "STARTTLS not offered", "does not offer STARTTLS"},
		{"refused", []hostile.Step{
			{Send: "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"},
			{Expect: `^\S+ STARTTLS$`, Send: "$tag BAD TLS support isn't enabled\r\n"}}, "STARTTLS: BAD", "does not offer STARTTLS"},
		{"PREAUTH", []hostile.Step{{Send: "* PREAUTH [CAPABILITY IMAP4rev1 STARTTLS] welcome\r\n"}}, "PREAUTH", "does not offer STARTTLS"},
		{"data before TLS", []hostile.Step{
			{Send: "* OK [CAPABILITY IMAP4rev1 STARTTLS] ready\r\n"},
			{Expect: `^\S+ STARTTLS$`, Send: "$tag OK begin TLS\r\n* OK [CAPABILITY IMAP4rev1 AUTH=PLAIN] injected\r\n"}}, "", "TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rest := make(chan []string, 1)
			s := hostile.Listen(t, nil, func(c *hostile.Conn) {
				err := c.Run(tc.steps...)
				var lines []string
				for err == nil {
					var l string
					if l, err = c.ReadLine(); err == nil {
						lines = append(lines, l)
					}
				}
				rest <- lines
			})
			c, err := dialHostileTLS(s, 10*time.Second, mailserver.STARTTLS, cert)
			if tc.reply == "" && tc.advice == "" {
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
				<-rest
				return
			}
			if err == nil {
				c.Close()
				t.Fatal("logged in")
			}
			var e *Error
			if !errors.As(err, &e) || e.Stage != StageTLS || !strings.Contains(e.Reply, tc.reply) {
				t.Fatalf("got %v; want a TLS-stage error, reply %q", err, tc.reply)
			}
			if text, _ := advice.Of(err); !strings.Contains(text, tc.advice) {
				t.Fatalf("advice %q lacks %q", text, tc.advice)
			}
			for _, l := range <-rest {
				if regexp.MustCompile(`(?i)^\S+ (LOGIN|AUTHENTICATE)`).MatchString(l) {
					t.Fatalf("sent %q after the refusal", l)
				}
			}
		})
	}
}
