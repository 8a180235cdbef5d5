package mailconn

import (
	"context"
	"crypto/x509"
	"fmt"

	"github.com/emersion/go-imap/v2"

	"mailtokens/internal/advice"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/tokenstore"
)

// TestRequest is a login to try with a token. Server.RootCAs, when set,
// is the only trust for this login (a task file's private CA, as the worker
// trusts it); nil leaves the tester's roots.
type TestRequest struct {
	mailserver.Server
	User string
}

// TestResult is how the login went, in the server's own words.
type TestResult struct {
	OK         bool
	Summary    string   // one line
	Advice     string   // what to do, when it failed
	Transcript []string // the conversation, credentials hidden
}

// Tester runs logins for the admin utility's Test button.
type Tester struct {
	// RootCAs verifies servers; nil = the system's roots.
	RootCAs *x509.CertPool
}

// Roots are the CAs the tester trusts (nil: the system's).
func (t Tester) Roots() *x509.CertPool { return t.RootCAs }

// Test logs in with the token exactly as a worker would, looks at the
// mailbox (IMAP: INBOX's message count; POP3: STAT), and logs out.
func (t Tester) Test(ctx context.Context, src *tokenstore.Source, req TestRequest) TestResult {
	return Test(ctx, src, req, t.RootCAs)
}

// Test is Tester.Test for any token source; roots verify the server unless
// the request names its own.
func Test(ctx context.Context, tokens Tokens, req TestRequest, roots *x509.CertPool) TestResult {
	var res TestResult
	opt := Options{Transcript: func(l string) { res.Transcript = append(res.Transcript, l) }}
	s := req.Server
	if s.RootCAs == nil {
		s.RootCAs = roots
	}
	a := Auth{User: req.User, Tokens: tokens}
	var what string
	var err error
	switch req.Protocol {
	case mailserver.IMAP:
		var c *IMAPClient
		if c, err = DialIMAP(ctx, s, a, opt, nil); err == nil {
			st, serr := c.Status("INBOX", &imap.StatusOptions{NumMessages: true}).Wait()
			if serr == nil && st.NumMessages != nil {
				what = fmt.Sprintf("; INBOX holds %d messages", *st.NumMessages)
			}
			c.Logout().Wait()
			c.Close()
		}
	case mailserver.POP3:
		c, perr := DialPOP3(ctx, s, a, opt)
		if err = perr; err == nil {
			if n, size, serr := c.Stat(); serr == nil {
				what = fmt.Sprintf("; the maildrop holds %d messages (%d bytes)", n, size)
			}
			c.Quit()
		}
	case mailserver.SMTP:
		c, serr := DialSMTP(ctx, s, a, opt)
		if err = serr; err == nil {
			what = "; the server accepts mail from this login"
			c.Quit()
		}
	default:
		err = fmt.Errorf("unknown protocol %q", req.Protocol)
	}
	if err == nil {
		res.OK = true
		res.Summary = fmt.Sprintf("Logged in to %s as %s with XOAUTH2%s.", s.Addr(), req.User, what)
		return res
	}
	res.Summary = err.Error()
	res.Advice, _ = advice.Of(err)
	return res
}
