package mailout

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/textproto"
	"strings"
	"time"

	"github.com/wneessen/go-mail/smtp"
)

// Stages of a transaction, as notes and logs name them.
const (
	stageMail    = "MAIL FROM"
	stageRcpt    = "RCPT TO"
	stageData    = "DATA"
	stageBody    = "sending the message"
	stageEndData = "end of data"
)

// result is how one SMTP transaction for one message ended.
type result struct {
	// delivered are the recipients the server accepted the message for.
	delivered []string
	// rejected are recipients refused for good (5xx at RCPT TO);
	// deferred those refused for now (4xx).
	rejected, deferred []rejection
	// err is what stopped the transaction short of a 250 for the message;
	// nil when the message went out, or when every recipient was refused
	// (they are in rejected and deferred then).
	err error
	// stage is where err happened; reply the server's reply, or the
	// network error, in words.
	stage, reply string
	// permanent: err is a 5xx reply: sending this message again the same
	// way will fail again.
	permanent bool
	// broken: the connection cannot be used any more (network error,
	// timeout, 421, or the message abandoned half-sent).
	broken bool
}

// sendTimeouts bound each step of a transaction (RFC 5321 §4.5.3.2 asks
// for at least 5 minutes for the commands and 10 for the reply to the
// final dot).
type sendTimeouts struct {
	command, endData time.Duration
}

// transact sends one message to rcpts over c, streaming the body from
// body through buf. When stop ends, the connection is closed at once: the
// transaction is abandoned without the final dot, so the server discards
// what it got.
func transact(stop context.Context, c *smtp.Client, to sendTimeouts, from string, rcpts []string, body io.Reader, buf []byte) result {
	defer context.AfterFunc(stop, func() { c.Text.Close() })()
	var res result
	fail := func(stage string, err error) result {
		res.err, res.stage = err, stage
		res.reply, res.permanent, res.broken = classify(err)
		if stop.Err() != nil {
			res.broken = true
		}
		return res
	}
	c.UpdateDeadline(to.command)
	if err := c.Mail("<" + from + ">"); err != nil {
		r := fail(stageMail, err)
		resetAfter(c, &r, to)
		return r
	}
	var accepted []string
	for _, rcpt := range rcpts {
		c.UpdateDeadline(to.command)
		err := c.Rcpt("<" + rcpt + ">")
		if err == nil {
			accepted = append(accepted, rcpt)
			continue
		}
		reply, permanent, broken := classify(err)
		if broken || stop.Err() != nil {
			return fail(stageRcpt+" "+rcpt, err)
		}
		if permanent {
			res.rejected = append(res.rejected, rejection{Rcpt: rcpt, Reply: reply})
		} else {
			res.deferred = append(res.deferred, rejection{Rcpt: rcpt, Reply: reply})
		}
	}
	if len(accepted) == 0 {
		resetAfter(c, &res, to)
		return res
	}
	c.UpdateDeadline(to.command)
	w, err := c.Data()
	if err != nil {
		r := fail(stageData, err)
		resetAfter(c, &r, to)
		return r
	}
	if err := copyBody(c, w, body, buf, to.command); err != nil {
		// The body is half-sent: only closing the connection keeps the
		// server from taking a truncated message.
		c.Text.Close()
		r := fail(stageBody, err)
		r.broken = true
		return r
	}
	c.UpdateDeadline(to.endData)
	if err := w.Close(); err != nil {
		return fail(stageEndData, err)
	}
	res.delivered = accepted
	return res
}

// copyBody streams the body into the DATA writer, moving the deadline on
// with every chunk so that a large message is bounded by progress, not by
// its size.
func copyBody(c *smtp.Client, w io.Writer, body io.Reader, buf []byte, timeout time.Duration) error {
	for {
		n, rerr := io.ReadFull(body, buf)
		if n > 0 {
			c.UpdateDeadline(timeout)
			if _, err := w.Write(buf[:n]); err != nil {
				return err
			}
		}
		switch {
		case rerr == io.EOF || rerr == io.ErrUnexpectedEOF:
			return nil
		case rerr != nil:
			return &localError{fmt.Errorf("read the message file: %w", rerr)}
		}
	}
}

// localError is a failure on this side (reading the spool), not the
// server's or the network's.
type localError struct{ err error }

func (e *localError) Error() string { return e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// resetAfter ends a transaction that stopped at a refusal with RSET, so
// that the connection can carry the next message; a failed RSET marks it
// broken.
func resetAfter(c *smtp.Client, r *result, to sendTimeouts) {
	if r.broken {
		return
	}
	c.UpdateDeadline(to.command)
	if err := c.Reset(); err != nil {
		r.broken = true
	}
}

// classify turns an error from the SMTP client into the reply in words,
// whether it is permanent (5xx), and whether the connection is lost.
// Everything that is not a 5xx reply is temporary: 4xx replies, network
// errors and timeouts (go-mail's SendError.IsTemp calls those permanent),
// and local trouble reading the spool.
func classify(err error) (reply string, permanent, broken bool) {
	var te *textproto.Error
	var le *localError
	switch {
	case errors.As(err, &te):
		// 421: the server is closing the connection.
		return replyText(te), te.Code >= 500, te.Code == 421
	case errors.As(err, &le):
		return err.Error(), false, true
	}
	return err.Error(), false, true
}

// replyText rebuilds a reply as the server sent it: net/textproto keeps
// the text of each line of a multi-line reply, without the codes.
func replyText(te *textproto.Error) string {
	lines := strings.Split(te.Msg, "\n")
	var b strings.Builder
	for i, l := range lines {
		if i > 0 {
			b.WriteByte('\n')
		}
		sep := "-"
		if i == len(lines)-1 {
			sep = " "
		}
		fmt.Fprintf(&b, "%d%s%s", te.Code, sep, l)
	}
	return b.String()
}
