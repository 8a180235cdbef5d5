package mailconn

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/secret"
)

// IMAPClient is a logged-in IMAP connection.
type IMAPClient struct {
	*imapclient.Client
	conn *watchdogConn
}

// Broken reports whether the connection can carry no more commands: it
// was closed, the server ended it, a read or write failed (the watchdog's
// included), or go-imap gave it up.
func (c *IMAPClient) Broken() bool {
	return c.conn.broken.Load() || c.State() == imap.ConnStateLogout
}

// Watchdog makes every later exchange fail if the server sends or takes
// nothing for d (go-imap has no timeouts of its own). Keep it armed for
// the whole life of the connection — longer than the IDLE wait while
// idling — since go-imap always has a read waiting.
func (c *IMAPClient) Watchdog(d time.Duration) { c.conn.arm(d) }

// Streaming tells the connection that the next size bytes from the server
// are a message body that the caller streams to its destination: they do
// not count toward [MaxIMAPReply].
func (c *IMAPClient) Streaming(size int64) { c.conn.streaming(size) }

// DialIMAP connects and logs in. Extra imapclient options (unilateral data
// handlers for IDLE) may be given.
func DialIMAP(ctx context.Context, s mailserver.Server, a Auth, opt Options, extra *imapclient.Options) (*IMAPClient, error) {
	s.Protocol = mailserver.IMAP
	c, err := loginAs(ctx, s, a, opt, func(conn net.Conn, token secret.Secret) (*IMAPClient, error) {
		return imapLogin(ctx, conn, s, a, token, opt, extra)
	})
	if err == nil {
		// The login's end cleared the deadline of the read go-imap
		// already has waiting: the watchdog applies again.
		c.conn.arm(timeout(s))
	}
	return c, err
}

func imapLogin(ctx context.Context, raw net.Conn, s mailserver.Server, a Auth, token secret.Secret, opt Options, extra *imapclient.Options) (*IMAPClient, error) {
	o := imapclient.Options{}
	if extra != nil {
		o = *extra
	}
	// Recorded on the connection: "C:" and "S:" in the order they crossed
	// it, each command before its reply.
	var clear net.Conn = raw
	var rec *recordingConn
	if opt.Transcript != nil {
		rec = recordConn(raw, opt.Transcript)
		clear = rec
	}
	// Armed from the first byte: a server silent at the greeting or the
	// login fails after s.Timeout.
	conn := imapConn(clear, s)
	var forClient net.Conn = conn
	if s.Security == mailserver.STARTTLS {
		tc, err := imapStartTLS(ctx, conn, raw, s)
		if err != nil {
			conn.Close()
			return nil, err
		}
		clear = tc
		if rec != nil {
			clear = rec.over(tc, sprintf("   (TLS established, %s: the conversation goes on encrypted)", tls.VersionName(tc.ConnectionState().Version)))
		}
		conn = imapConn(clear, s)
		forClient = &greetedConn{watchdogConn: conn, greeting: strings.NewReader(tlsGreeting)}
	}
	c := imapclient.New(forClient, &o)
	if err := c.WaitGreeting(); err != nil {
		c.Close()
		return nil, &Error{Protocol: mailserver.IMAP, Server: s.Addr(), Stage: StageConnect, Err: conn.cause(err), Temporary: true}
	}
	if s.Security == mailserver.STARTTLS {
		// go-imap asks for the capabilities after a greeting without
		// them; the login waits for the answer, so it goes with what the
		// server says inside TLS.
		c.Caps()
	}
	if s.Security == mailserver.NONE && c.Caps().Has(imap.CapLoginDisabled) && a.Tokens == nil {
		c.Close()
		return nil, &Error{Protocol: mailserver.IMAP, Server: s.Addr(), Stage: StageTLS, Reply: "LOGINDISABLED",
			Err: errors.New("the server refuses password logins without TLS: use SSL or STARTTLS")}
	}
	var failure *oauthsasl.Failure
	var err error
	if a.Tokens != nil {
		mech := oauthsasl.NewXOAUTH2Client(a.User, token.Reveal())
		err = c.Authenticate(mech)
		failure = mech.Failure()
	} else {
		err = c.Login(a.User, a.Password.Reveal()).Wait()
	}
	if err != nil {
		c.Close()
		return nil, loginError(s, a.User, conn.cause(err), failure)
	}
	return &IMAPClient{Client: c, conn: conn}, nil
}

// imapConn is conn with the watchdog and the reply bound, armed.
func imapConn(conn net.Conn, s mailserver.Server) *watchdogConn {
	w := &watchdogConn{Conn: conn, replies: &replyLimit{max: MaxIMAPReply}}
	w.arm(timeout(s))
	return w
}
