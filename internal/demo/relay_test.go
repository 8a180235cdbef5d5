package demo

import (
	"bytes"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-smtp"
)

// TestRelay: each message is saved once per recipient, byte for byte; a
// failed save answers 451, so that the sender keeps the message and tries
// again.
func TestRelay(t *testing.T) {
	t.Parallel()
	type saved struct {
		rcpt string
		msg  string
	}
	var mu sync.Mutex
	var got []saved
	fail := errors.New("doveadm save: exit status 75\nmore detail")
	r, err := listenRelay()
	if err != nil {
		t.Fatal(err)
	}
	r.serve(func(rcpt string, msg []byte) error {
		if rcpt == "full@example.net" {
			return fail
		}
		mu.Lock()
		defer mu.Unlock()
		got = append(got, saved{rcpt, string(msg)})
		return nil
	}, slog.New(slog.DiscardHandler))
	t.Cleanup(r.Close)

	c, err := smtp.Dial(r.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	msg := "Received: from client.test\r\n\tby dovecot.test\r\nSubject: loop\r\n\r\n.a line with a dot\r\n"
	if err := c.SendMail("support@contoso.example", []string{"support@contoso.example", "Other@Contoso.Example"}, strings.NewReader(msg)); err != nil {
		t.Fatal(err)
	}
	want := []saved{{"support@contoso.example", msg}, {"Other@Contoso.Example", msg}}
	mu.Lock()
	if !slices.Equal(got, want) {
		t.Errorf("saved %q, want %q", got, want)
	}
	mu.Unlock()

	err = c.SendMail("support@contoso.example", []string{"full@example.net"}, bytes.NewReader([]byte(msg)))
	var smtpErr *smtp.SMTPError
	if !errors.As(err, &smtpErr) || smtpErr.Code != 451 || strings.Contains(smtpErr.Message, "more detail") {
		t.Errorf("failed save: got %v, want a one-line 451", err)
	}
}
