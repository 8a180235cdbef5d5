package mailconn

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/hostile"
	"mailtokens/internal/secret"
)

// dialHostile logs in to a hostile server in clear with a password.
func dialHostile(s *hostile.Server, timeout time.Duration) (*IMAPClient, error) {
	host, port, _ := strings.Cut(s.Addr(), ":")
	p, _ := strconv.Atoi(port)
	return DialIMAP(context.Background(), Server{Host: host, Port: p, Security: NONE, Timeout: timeout},
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
