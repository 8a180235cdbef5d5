package mailconn

import (
	"context"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/sandbox/hostile"
	"mailtokens/internal/secret"
)

// dialHostile logs in to a hostile server in clear with a password.
func dialHostile(s *hostile.Server, timeout time.Duration) (*IMAPClient, error) {
	host, port, _ := strings.Cut(s.Addr(), ":")
	p, _ := strconv.Atoi(port)
	return DialIMAP(context.Background(), mailserver.Server{Host: host, Port: p, Security: mailserver.NONE, Timeout: timeout},
		Auth{User: "u", Password: secret.New("p")}, Options{}, nil)
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

// TestIMAPEndlessReply: a 300 MB greeting without a line end fails the
// login with a clear error once it passes MaxIMAPReply, without taking
// the memory it would fill.
func TestIMAPEndlessReply(t *testing.T) {
	chunk := strings.Repeat("x", 64<<10)
	s := hostile.Listen(t, nil, hostile.Script(hostile.Step{Send: "* OK "}, hostile.Step{Send: chunk, Repeat: 300 << 20 / len(chunk)}))
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	start := time.Now()
	c, err := dialHostile(s, 10*time.Second)
	runtime.ReadMemStats(&after)
	if err == nil {
		c.Close()
		t.Fatal("logged in after a 300 MB greeting")
	}
	if !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("after %v: %v; want a word about the reply's length", time.Since(start), err)
	}
	if mb := (after.TotalAlloc - before.TotalAlloc) >> 20; mb > 64 {
		t.Fatalf("allocated %d MiB reading the greeting", mb)
	}
}
