package mailconn

import (
	"context"
	"errors"
	"net"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/pop3"
	"mailtokens/internal/secret"
)

// DialPOP3 connects and logs in. POP3 servers take XOAUTH2 in two steps
// (AUTH XOAUTH2, "+", the initial response), which the client does.
func DialPOP3(ctx context.Context, s mailserver.Server, a Auth, opt Options) (*pop3.Client, error) {
	s.Protocol = mailserver.POP3
	return loginAs(ctx, s, a, opt, func(conn net.Conn, token secret.Secret) (*pop3.Client, error) {
		return pop3Login(ctx, conn, s, a, token, opt)
	})
}

func pop3Login(ctx context.Context, conn net.Conn, s mailserver.Server, a Auth, token secret.Secret, opt Options) (*pop3.Client, error) {
	var rec *recordingConn
	if opt.Transcript != nil {
		rec = recordConn(conn, opt.Transcript)
		conn = rec
	}
	c, err := pop3.NewClient(conn, timeout(s))
	if err != nil {
		conn.Close()
		return nil, &Error{Protocol: mailserver.POP3, Server: s.Addr(), Stage: StageConnect, Err: err, Temporary: true}
	}
	if s.Security == mailserver.STARTTLS {
		if rec != nil {
			rec.stop("C: STLS   (from here on the conversation is encrypted and not shown)")
		}
		if err := c.StartTLS(tlsConfig(s)); err != nil {
			c.Close()
			e := &Error{Protocol: mailserver.POP3, Server: s.Addr(), Stage: StageTLS, Err: err, Temporary: temporary(err)}
			if errors.Is(err, pop3.ErrSTLSNotOffered) {
				e.Reply = "STARTTLS (STLS) not offered"
			}
			return nil, e
		}
	}
	var failure *oauthsasl.Failure
	if a.Tokens != nil {
		mech := oauthsasl.NewXOAUTH2Client(a.User, token.Reveal())
		err = c.Auth(mech)
		failure = mech.Failure()
	} else {
		err = c.User(a.User, a.Password.Reveal())
	}
	if err != nil {
		c.Close()
		return nil, loginError(s, a.User, err, failure)
	}
	return c, nil
}
