package mailout

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/advice"
)

// SendError is a message that [Send] could not hand over to every
// recipient: where the transaction stopped and the server's reply, or the
// recipients it refused.
type SendError struct {
	Stage     string   // "MAIL FROM", "RCPT TO", "DATA", "end of data", ...
	Reply     string   // the server's reply, or the network error, in words
	Permanent bool     // a 5xx: sending it again the same way fails again
	Refused   []string // "<rcpt>: reply" for each recipient refused (the others got the message)
}

func (e *SendError) Error() string {
	if len(e.Refused) > 0 && e.Stage == "" {
		return "send: the server refused " + strings.Join(e.Refused, "; ")
	}
	return fmt.Sprintf("send: %s: %s", e.Stage, e.Reply)
}

// Advice: a refusal for good is a setting to fix (the sender, the
// recipients, the account's right to send); anything else passes.
func (e *SendError) Advice() (string, advice.Kind) {
	if e.Permanent {
		return "Check the sender and recipient addresses and that the account may send as the sender.", advice.Misconfigured
	}
	return "", advice.Temporary
}

// Send sends one message over c, a connection from mailconn.DialSMTP,
// the way a queued message goes (MAIL, RCPT, DATA, the body as it is, with
// batchmail's timeouts); for a program that sends a message of its own
// rather than queueing it. It returns a *[SendError] unless the server
// accepted the message for every recipient. The connection stays usable
// after a refusal; the caller closes it.
func Send(ctx context.Context, c *smtp.Client, from string, rcpts []string, msg io.Reader) error {
	to := sendTimeouts{command: DefaultCommandTimeout, endData: DefaultEndDataTimeout}
	res := transact(ctx, c, to, from, rcpts, msg, make([]byte, 32<<10))
	switch {
	case res.err != nil:
		return &SendError{Stage: res.stage, Reply: res.reply, Permanent: res.permanent}
	case len(res.rejected)+len(res.deferred) > 0:
		e := &SendError{Permanent: len(res.deferred) == 0}
		for _, r := range append(res.rejected, res.deferred...) {
			e.Refused = append(e.Refused, fmt.Sprintf("<%s>: %s", r.Rcpt, r.Reply))
		}
		return e
	}
	return nil
}
