// Package mailconn is the one place that connects and logs in to mail
// servers: dial, TLS or STARTTLS, then PASSWORD or OAUTH2 (XOAUTH2) login
// for IMAP, POP3 and SMTP. Both workers, the admin utility's Test button
// and `evadmin token test` use it, so a passing test means the workers get
// in. With OAUTH2, a token the server rejects although the store thought it
// valid is refreshed once and the login retried once.
package mailconn

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// DefaultTimeout is how long a server may take to answer during login.
const DefaultTimeout = time.Minute

// timeout is s.Timeout or DefaultTimeout.
func timeout(s mailserver.Server) time.Duration {
	if s.Timeout > 0 {
		return s.Timeout
	}
	return DefaultTimeout
}

func tlsConfig(s mailserver.Server) *tls.Config {
	return &tls.Config{ServerName: s.Host, RootCAs: s.RootCAs, MinVersion: tls.VersionTLS12}
}

// Tokens hands out access tokens for OAUTH2 logins; *tokenstore.Source is
// one.
type Tokens interface {
	Token(ctx context.Context) (tokenstore.Access, error)
	Rejected(ctx context.Context, rejected secret.Secret) (tokenstore.Access, error)
	// LoggedIn hears how each login with a token went.
	LoggedIn(ctx context.Context, l tokenstore.Login) error
}

// Auth is how to log in.
type Auth struct {
	// User is the login name: the mailbox. With OAUTH2 it may be a shared
	// mailbox that the token's account has full access to. An SMTP Auth
	// without User and Tokens does not log in (a relay that takes mail
	// from the host, evadmin's NOTIFY_SMTP_AUTH_TYPE = NONE).
	User     string
	Password secret.Secret // PASSWORD login
	Tokens   Tokens        // OAUTH2 login; wins over Password
}

// Options are optional.
type Options struct {
	// Transcript receives the protocol conversation line by line, with
	// credentials hidden; for the Test button.
	Transcript func(line string)
	Logger     *slog.Logger
}

func (o Options) log() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// dial connects to the server (with TLS for SSL) and arms a deadline for
// the login; ctx ending closes the connection.
func dial(ctx context.Context, s mailserver.Server) (net.Conn, func(), error) {
	d := net.Dialer{Timeout: timeout(s)}
	conn, err := d.DialContext(ctx, "tcp", s.Addr())
	if err != nil {
		return nil, nil, &Error{Protocol: s.Protocol, Server: s.Addr(), Stage: StageConnect, Temporary: true, Err: err}
	}
	conn.SetDeadline(time.Now().Add(timeout(s)))
	if s.Security == mailserver.SSL {
		tc := tls.Client(conn, tlsConfig(s))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, nil, &Error{Protocol: s.Protocol, Server: s.Addr(), Stage: StageTLS, Err: err, Temporary: temporary(err)}
		}
		conn = tc
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	done := func() {
		stop()
		conn.SetDeadline(time.Time{})
	}
	return conn, done, nil
}

// loginAs dials and logs in with the right credentials (see login), and
// returns the client that the attempt which succeeded made over its
// connection.
func loginAs[C any](ctx context.Context, s mailserver.Server, a Auth, opt Options, attempt func(conn net.Conn, token secret.Secret) (C, error)) (C, error) {
	var out C
	err := login(ctx, s, a, opt, func(token secret.Secret) error {
		conn, done, err := dial(ctx, s)
		if err != nil {
			return err
		}
		defer done()
		c, err := attempt(conn, token)
		if err != nil {
			return err
		}
		out = c
		return nil
	})
	return out, err
}

// login runs attempt with the right credentials: the password, or an
// access token — refreshed and retried once when the server rejects it,
// unless the store says a refresh would not help (a refusal already forced
// one lately): then the server's refusal is the answer, marked
// AfterRefresh and wrapping the store's *tokenstore.RefusedError.
// attempt connects anew each time (servers often drop the connection after
// a failed login).
func login(ctx context.Context, s mailserver.Server, a Auth, opt Options, attempt func(token secret.Secret) error) error {
	if a.Tokens == nil {
		return attempt(secret.Secret{})
	}
	acc, err := a.Tokens.Token(ctx)
	if err != nil {
		return tokenError(s, a, err)
	}
	err = attempt(acc.Token)
	if !isRejection(err) {
		reportLogin(ctx, s, a, opt, err)
		return err
	}
	fresh, rerr := a.Tokens.Rejected(ctx, acc.Token)
	var refused *tokenstore.RefusedError
	if errors.As(rerr, &refused) {
		opt.log().Warn("server rejected the access token again; not refreshing it, the problem is on the mail side",
			"protocol", s.Protocol, "server", s.Addr(), "user", a.User, "reply", replyOf(err))
		err = afterRefresh(err, rerr)
		reportLogin(ctx, s, a, opt, err)
		return err
	}
	if rerr != nil {
		return tokenError(s, a, rerr)
	}
	opt.log().Warn("server rejected the access token; refreshed it, trying once more",
		"protocol", s.Protocol, "server", s.Addr(), "user", a.User, "reply", replyOf(err))
	if err = attempt(fresh.Token); err != nil {
		err = afterRefresh(err, nil)
	}
	reportLogin(ctx, s, a, opt, err)
	return err
}

// afterRefresh marks a refusal as coming after the token was refreshed for
// an earlier one, with the store's reason for not refreshing again, if any.
func afterRefresh(err, reason error) error {
	var e *Error
	if errors.As(err, &e) {
		e.AfterRefresh = true
		if reason != nil {
			e.Err = errors.Join(e.Err, reason)
		}
	}
	return err
}

// reportLogin tells the token's source how a login went (err nil: it
// succeeded): the mail side of the token's health. A login cut short by
// our own shutdown says nothing about the server and is not reported.
func reportLogin(ctx context.Context, s mailserver.Server, a Auth, opt Options, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	l := tokenstore.Login{Server: fmt.Sprintf("%s %s", s.Protocol, s.Addr()), User: a.User}
	if err != nil {
		l.Failed, l.Reply = true, replyOf(err)
		if l.Reply == "" {
			l.Reply = err.Error()
		}
	}
	if err := a.Tokens.LoggedIn(context.WithoutCancel(ctx), l); err != nil {
		opt.log().Warn("could not record how the login went", "err", err)
	}
}
