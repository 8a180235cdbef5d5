package smtpd

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/sandbox/mailauth"
)

// backend makes the sessions of one listener.
type backend struct {
	srv *Server
	// requireTLS: AUTH is refused, and not advertised, until STARTTLS.
	requireTLS bool
	// answers, if not nil, watches the SASL answers of the one connection
	// this backend serves.
	answers *mailauth.AnswerWatch
}

// NewSession is called at EHLO, and again at the EHLO after STARTTLS, so
// a session knows for its whole life whether its connection is secure.
func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	_, secure := c.TLSConnectionState()
	return &session{srv: b.srv, conn: c, needTLS: b.requireTLS && !secure, answers: b.answers}, nil
}

// session is one client between EHLOs.
type session struct {
	srv     *Server
	conn    *smtp.Conn
	needTLS bool
	answers *mailauth.AnswerWatch

	mailbox string // the authenticated mailbox, lowercased; "" before AUTH
	from    string
	rcpts   []string
}

// AuthMechanisms is what EHLO advertises. Before a required STARTTLS it
// advertises none, as both services do.
func (s *session) AuthMechanisms() []string {
	if s.needTLS {
		return nil
	}
	return s.srv.dialect.mechanisms
}

// Auth returns the server side of mech.
func (s *session) Auth(mech string) (sasl.Server, error) {
	d := s.srv.dialect
	if s.needTLS {
		return nil, d.tlsFirst
	}
	if !slices.Contains(d.mechanisms, mech) {
		return nil, d.noMechanism
	}
	var srv sasl.Server
	switch mech {
	case "LOGIN":
		srv = &loginServer{auth: func(mailbox, password string) error {
			return s.password(mech, mailbox, password)
		}}
	case "PLAIN":
		srv = sasl.NewPlainServer(func(identity, mailbox, password string) error {
			// An authorization identity would ask to send as another
			// mailbox with this password; neither service allows that.
			if identity != "" && !strings.EqualFold(identity, mailbox) {
				s.srv.refused(mech, identity, &mailauth.Rejected{Reason: "PLAIN with an authorization identity"})
				return d.authFailed
			}
			return s.password(mech, mailbox, password)
		})
	case oauthsasl.XOAUTH2:
		srv = oauthsasl.NewXOAUTH2Server(func(mailbox, token string) error {
			return s.bearer(mech, mailbox, token)
		})
	case oauthsasl.OAUTHBEARER:
		// Without a=, the mailbox is unknown and the Directory refuses:
		// the sandbox does not look up whose token it is.
		srv = oauthsasl.NewOAUTHBEARERServer(func(p oauthsasl.OAUTHBEARERParams) error {
			return s.bearer(mech, p.Authzid, p.Token)
		})
	}
	srv = oauthsasl.MapErrors(srv, d.saslError)
	if s.answers != nil {
		srv = s.answers.Guard(srv, d.malformed)
	}
	return srv, nil
}

func (s *session) password(mech, mailbox, password string) error {
	if err := s.srv.opt.Directory.Password(mailauth.SMTP, mailbox, password); err != nil {
		return s.srv.dialect.passwordRefused(s.srv.refused(mech, mailbox, err))
	}
	s.authenticated(mech, mailbox)
	return nil
}

func (s *session) bearer(mech, mailbox, token string) error {
	if err := s.srv.opt.Directory.Bearer(mailauth.SMTP, mailbox, token); err != nil {
		return s.srv.dialect.tokenRefused(mech, s.srv.refused(mech, mailbox, err))
	}
	s.authenticated(mech, mailbox)
	return nil
}

func (s *session) authenticated(mech, mailbox string) {
	s.mailbox = normalize(mailbox)
	s.srv.loggedIn(mech, s.mailbox)
}

// Mail starts a message. The rate limit is checked here, as an Exchange
// receive connector does, so that a throttled sender has not sent the
// message body for nothing.
func (s *session) Mail(from string, _ *smtp.MailOptions) error {
	d := s.srv.dialect
	switch {
	case s.needTLS:
		return d.mailBeforeTLS
	case s.mailbox == "":
		return d.authRequired
	}
	if !s.srv.admit(s.mailbox) {
		s.srv.log.Info("throttled", "mailbox", s.mailbox, "rate_per_minute", s.srv.opt.RatePerMinute)
		return s.replyAndClose(d.throttled)
	}
	s.from = from
	return nil
}

// Rcpt adds a recipient unless the test scripted a refusal for it.
func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if err := s.srv.recipientRefusal(to); err != nil {
		return err
	}
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data receives the message. A scripted failure comes first; then
// Exchange's Send As check, which the real service also makes only once it
// has the whole message; then the message is recorded and, if scripted, the
// connection is dropped instead of answering 250.
func (s *session) Data(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		// go-smtp's own "552 5.3.4 Maximum message size exceeded" is an
		// *smtp.SMTPError and goes to the client as is.
		return err
	}
	if err := s.srv.dataFailure(); err != nil {
		s.srv.log.Info("scripted DATA failure", "mailbox", s.mailbox, "code", err.Code)
		return err
	}
	if deny := s.srv.dialect.sendAsDenied; deny != nil && !s.srv.maySendAs(s.mailbox, s.from) {
		s.srv.log.Info("send as denied", "mailbox", s.mailbox, "from", s.from)
		return deny(s.mailbox, s.from)
	}
	drop := s.srv.dropAfterData()
	s.srv.record(Message{
		From:    s.from,
		To:      append([]string(nil), s.rcpts...),
		Raw:     raw,
		Mailbox: s.mailbox,
		Dropped: drop,
	})
	if drop {
		// The message is in, but the sender never hears so: the "did it
		// go out?" case. go-smtp's 250 then goes to a closed connection.
		s.conn.Conn().Close()
	}
	return nil
}

// Reset forgets the message in progress (RSET, or after DATA).
func (s *session) Reset() {
	s.from, s.rcpts = "", nil
}

// Logout ends the session. The authenticated mailbox goes with it: after
// STARTTLS a client must log in again.
func (s *session) Logout() error { return nil }

// replyAndClose sends the single-line reply err itself and closes the
// connection, for replies (421) after which the server hangs up. It returns err so that
// go-smtp tries to send it as well, which fails harmlessly on the closed
// connection.
func (s *session) replyAndClose(err *smtp.SMTPError) error {
	c := err.EnhancedCode
	fmt.Fprintf(s.conn.Conn(), "%d %d.%d.%d %s\r\n", err.Code, c[0], c[1], c[2], err.Message)
	s.conn.Conn().Close()
	return err
}

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// lacks and Exchange offers for passwords (it has no PLAIN for SMTP). The
// client may send the user name as the initial response.
type loginServer struct {
	auth func(user, password string) error
	user string
	step int
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		if response == nil {
			l.step = 1
			return []byte("Username:"), false, nil
		}
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 1:
		l.user, l.step = string(response), 2
		return []byte("Password:"), false, nil
	case 2:
		l.step = 3
		return nil, true, l.auth(l.user, string(response))
	}
	return nil, true, errors.New("smtpd: LOGIN: response after the exchange ended")
}
