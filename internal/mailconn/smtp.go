package mailconn

import (
	"context"
	"net"
	"os"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/wneessen/go-mail/log"
	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/secret"
)

// DialSMTP connects, says EHLO, upgrades with STARTTLS when asked, and
// logs in. The client is go-mail's SMTP client, so that batchmail can send
// queued messages byte for byte over it. For the life of the connection, a
// server that sends more than MaxSMTPReply bytes in one reply fails the
// read with an error wrapping ErrReplyTooLong.
func DialSMTP(ctx context.Context, s mailserver.Server, a Auth, opt Options) (*smtp.Client, error) {
	s.Protocol = mailserver.SMTP
	return loginAs(ctx, s, a, opt, func(conn net.Conn, token secret.Secret) (*smtp.Client, error) {
		return smtpLogin(ctx, conn, s, a, token, opt)
	})
}

func smtpLogin(ctx context.Context, conn net.Conn, s mailserver.Server, a Auth, token secret.Secret, opt Options) (*smtp.Client, error) {
	conn = &replyLimitConn{Conn: conn}
	c, err := smtp.NewClient(conn, s.Host)
	if err != nil {
		conn.Close()
		return nil, loginError(s, a.User, err, nil).at(StageConnect)
	}
	if opt.Transcript != nil {
		c.SetLogger(transcriptLogger{opt.Transcript})
		c.SetDebugLog(true)
	}
	if err := c.Hello(localName()); err != nil {
		c.Close()
		return nil, loginError(s, a.User, err, nil).at(StageConnect)
	}
	if s.Security == mailserver.STARTTLS {
		if ok, _ := c.Extension("STARTTLS"); !ok {
			c.Close()
			return nil, &Error{Protocol: mailserver.SMTP, Server: s.Addr(), Stage: StageTLS, Reply: "STARTTLS not offered"}
		}
		if err := c.StartTLS(tlsConfig(s)); err != nil {
			c.Close()
			return nil, &Error{Protocol: mailserver.SMTP, Server: s.Addr(), Stage: StageTLS, Err: err, Temporary: temporary(err)}
		}
	}
	if a.Tokens == nil && a.User == "" {
		return c, nil // a relay that takes mail without a login
	}
	var auth smtp.Auth
	var mech *oauthsasl.XOAUTH2Client
	if a.Tokens != nil {
		mech = oauthsasl.NewXOAUTH2Client(a.User, token.Reveal())
		auth = saslAuth{mech}
	} else if ok, mechs := c.Extension("AUTH"); ok && !hasWord(mechs, "PLAIN") && hasWord(mechs, "LOGIN") {
		auth = smtp.LoginAuth(a.User, a.Password.Reveal(), s.Host, s.Security == mailserver.NONE)
	} else {
		auth = smtp.PlainAuth("", a.User, a.Password.Reveal(), s.Host, s.Security == mailserver.NONE)
	}
	if err := c.Auth(auth); err != nil {
		// go-mail closes the connection after a failed AUTH.
		c.Close()
		var failure *oauthsasl.Failure
		if mech != nil {
			failure = mech.Failure()
		}
		return nil, loginError(s, a.User, err, failure)
	}
	return c, nil
}

func (e *Error) at(stage Stage) *Error {
	e.Stage = stage
	e.Rejected = false
	return e
}

func hasWord(list, word string) bool {
	for _, w := range strings.Fields(list) {
		if strings.EqualFold(w, word) {
			return true
		}
	}
	return false
}

// localName is what EHLO says: the host name when it looks like one.
func localName() string {
	if h, err := os.Hostname(); err == nil && strings.Contains(h, ".") {
		return h
	}
	return "localhost"
}

// saslAuth adapts a go-sasl client to go-mail's smtp.Auth: a 334 challenge
// goes to Next; the final reply ends the exchange.
//
// The initial response is not put on the AUTH line: "AUTH XOAUTH2" goes
// alone, and the response follows the server's empty "334". That is the
// exchange Microsoft documents for SMTP, Gmail takes it too, and it keeps
// the AUTH line short — Dovecot's submission refuses lines over 1 KiB with
// "500 5.5.2 Line too long", and a Microsoft access token is 2–3 KB.
type saslAuth struct{ c sasl.Client }

func (s saslAuth) Start(*smtp.ServerInfo) (string, []byte, error) {
	mech, _, err := s.c.Start()
	return mech, nil, err
}

func (s saslAuth) Next(fromServer []byte, more bool) ([]byte, error) {
	if !more {
		return nil, nil
	}
	return s.c.Next(fromServer)
}

// transcriptLogger feeds go-mail's debug log (auth data already redacted
// by go-mail) to a transcript.
type transcriptLogger struct{ line func(string) }

func (t transcriptLogger) Debugf(l log.Log) {
	prefix, m := "S: ", maskServer
	if l.Direction == log.DirClientToServer {
		prefix, m = "C: ", mask
	}
	text := strings.TrimRight(sprintf(l.Format, l.Messages...), "\r\n")
	for _, ln := range strings.Split(text, "\n") {
		t.line(prefix + m(ln))
	}
}
func (transcriptLogger) Infof(log.Log)  {}
func (transcriptLogger) Warnf(log.Log)  {}
func (transcriptLogger) Errorf(log.Log) {}
