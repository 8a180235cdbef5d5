package pop3_test

import (
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/pop3"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// giveUpBound is how long a call against a silent server may take at most
// with a short timeout: far more than the timeout, far less than a hang.
const giveUpBound = 5 * time.Second

// TestSilentServer: a server that stops answering at any point makes the
// call fail with a timeout after the Client's timeout, and the Client is
// unusable afterwards (the reply may still come and would be read as the
// answer to the next command).
func TestSilentServer(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		hangOn string
		call   func(c *pop3.Client) error
	}{
		{"STAT", func(c *pop3.Client) error { _, _, err := c.Stat(); return err }},
		{"UIDL", func(c *pop3.Client) error { _, err := c.UIDL(); return err }},
		{"RETR", func(c *pop3.Client) error { _, err := c.Retr(1); return err }},
		{"QUIT", func(c *pop3.Client) error { return c.Quit() }},
	} {
		t.Run(tc.hangOn, func(t *testing.T) {
			t.Parallel()
			f, addr := plainServer(t, provider.Google)
			f.srv.Add(pwUser, []byte(testMessages[0]))
			c, err := pop3.Dial(context.Background(), addr, nil, timeout)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if err := c.User(pwUser, pwPassword); err != nil {
				t.Fatal(err)
			}
			f.srv.HangOn(tc.hangOn)
			start := time.Now()
			err = tc.call(c)
			if took := time.Since(start); !isTimeout(err) || took < timeout || took > giveUpBound {
				t.Fatalf("%s against a silent server: %v after %v, want a timeout after %v", tc.hangOn, err, took, timeout)
			}
			if err := c.Noop(); err == nil {
				t.Error("Noop after a timeout succeeded")
			}
		})
	}
}

func TestSilentBeforeGreeting(t *testing.T) {
	f, addr := plainServer(t, provider.Microsoft)
	f.srv.HangOn("")
	const timeout = 300 * time.Millisecond
	start := time.Now()
	_, err := pop3.Dial(context.Background(), addr, nil, timeout)
	if took := time.Since(start); !isTimeout(err) || took > giveUpBound {
		t.Fatalf("Dial to a server that never greets: %v after %v", err, took)
	}
}

// TestSilentDuringAuth: the AUTH exchange is bounded too, including the
// wait for the server's "+".
func TestSilentDuringAuth(t *testing.T) {
	f, addr := plainServer(t, provider.Microsoft)
	f.srv.HangOn("AUTH")
	c, err := pop3.Dial(context.Background(), addr, nil, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	start := time.Now()
	err = c.Auth(oauthsasl.NewXOAUTH2Client(pwUser, "some-token"))
	if took := time.Since(start); !isTimeout(err) || took > giveUpBound {
		t.Fatalf("Auth against a silent server: %v after %v", err, took)
	}
}

// TestContextStopsCall: a context ends Dial and Capabilities long before
// the Client's own timeout.
func TestContextStopsCall(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	c := dial(t, addr, mailauth.Plain)
	f.srv.HangOn("CAPA")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Capabilities(ctx)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > giveUpBound {
		t.Fatalf("Capabilities with an expiring context: %v after %v", err, took)
	}
	if err := c.Noop(); err == nil {
		t.Error("Noop after a cancelled call succeeded")
	}

	f.srv.HangOn("")
	ctx, cancel = context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start = time.Now()
	_, err = pop3.Dial(ctx, addr, nil, testTimeout)
	if took := time.Since(start); !errors.Is(err, context.DeadlineExceeded) || took > giveUpBound {
		t.Fatalf("Dial with an expiring context: %v after %v", err, took)
	}
}

// TestTimeoutIsPerExchange: the timeout bounds each wait, not the session,
// so a slow server that keeps answering is not given up on.
func TestTimeoutIsPerExchange(t *testing.T) {
	f, addr := plainServer(t, provider.Google)
	c, err := pop3.Dial(context.Background(), addr, nil, 500*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.User(pwUser, pwPassword); err != nil {
		t.Fatal(err)
	}
	const delay = 100 * time.Millisecond
	f.srv.Slow(delay)
	start := time.Now()
	for range 6 {
		if err := c.Noop(); err != nil {
			t.Fatal(err)
		}
	}
	if took := time.Since(start); took < 6*delay {
		t.Errorf("six replies delayed by %v took %v: Slow did not apply", delay, took)
	}
}
