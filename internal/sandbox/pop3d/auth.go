package pop3d

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-sasl"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/sandbox/mailauth"
)

// maxAuthRounds bounds an AUTH exchange; the mechanisms here need at most
// three client lines.
const maxAuthRounds = 8

func (ss *session) userCmd(c command) error {
	if ss.tlsFirst() {
		return ss.fail(ss.t.tlsRequired)
	}
	if strings.TrimSpace(c.rest) == "" {
		return ss.fail(ss.t.unknownCommand)
	}
	// Like the real services, USER accepts any name: telling which names
	// exist would help someone guessing them.
	ss.user = strings.TrimSpace(c.rest)
	return ss.ok(ss.t.userOK)
}

func (ss *session) passCmd(c command) error {
	if ss.tlsFirst() {
		return ss.fail(ss.t.tlsRequired)
	}
	if ss.user == "" {
		return ss.fail(ss.t.wrongState)
	}
	user := ss.user
	ss.user = ""
	if err := ss.srv.opt.Directory.Password(mailauth.POP3, user, c.rest); err != nil {
		ss.refused(user, "PASS", err)
		return ss.fail(ss.t.passFailed)
	}
	return ss.login(user, "PASS", ss.t.passOK)
}

// login locks the maildrop and enters TRANSACTION, or answers [IN-USE] and
// stays in AUTHORIZATION when another session holds it.
func (ss *session) login(user, method, okText string) error {
	box := norm(user)
	msgs, ok := ss.srv.lock(box)
	if !ok {
		ss.srv.count(box, func(st *MailboxStats) { st.InUse++ })
		ss.log.Info("login refused: maildrop in use", "mailbox", box, "method", method)
		return ss.fail(ss.t.inUse)
	}
	ss.box, ss.msgs, ss.deleted, ss.state = box, msgs, make([]bool, len(msgs)), transaction
	ss.srv.count(box, func(st *MailboxStats) { st.Logins++ })
	ss.log.Info("logged in", "mailbox", box, "method", method, "messages", len(msgs))
	return ss.ok(okText)
}

func (ss *session) refused(user, method string, why error) {
	ss.srv.count(user, func(st *MailboxStats) { st.AuthFailures++ })
	ss.log.Info("login refused", "mailbox", norm(user), "method", method, "why", why.Error())
}

// authRun is one AUTH exchange.
type authRun struct {
	mech string
	srv  sasl.Server
	user string // the maildrop the client asked for (user=, a=, PLAIN's username)
	// rejected is set when the token was refused and a failure challenge
	// is on its way: the client's next line answers it.
	rejected bool
}

func (ss *session) mechanisms() []string {
	for _, c := range ss.t.capa {
		if rest, ok := strings.CutPrefix(c.line, "SASL "); ok {
			return strings.Fields(rest)
		}
	}
	return nil
}

func (ss *session) newAuth(mech string) *authRun {
	known := false
	for _, m := range ss.mechanisms() {
		known = known || m == mech
	}
	if !known {
		return nil
	}
	a := &authRun{mech: mech}
	dir := ss.srv.opt.Directory
	switch mech {
	case sasl.Plain:
		a.srv = sasl.NewPlainServer(func(identity, username, password string) error {
			a.user = username
			if identity != "" && norm(identity) != norm(username) {
				return &mailauth.Rejected{Reason: "PLAIN authorization identity differs from the user name"}
			}
			return dir.Password(mailauth.POP3, username, password)
		})
	case oauthsasl.XOAUTH2:
		a.srv = oauthsasl.NewXOAUTH2Server(func(user, token string) error {
			a.user = user
			return ss.bearer(a, user, token, oauthsasl.Failure{
				Status: googleFailure.status, Schemes: googleFailure.schemes, Scope: googleFailure.scope,
			})
		})
	case oauthsasl.OAUTHBEARER:
		a.srv = oauthsasl.NewOAUTHBEARERServer(func(p oauthsasl.OAUTHBEARERParams) error {
			a.user = p.Authzid
			f := oauthsasl.Failure{Status: "invalid_token", Schemes: googleFailure.schemes, Scope: googleFailure.scope}
			if p.Authzid == "" {
				// The maildrop is named by a=; without it the sandbox
				// cannot tell which one is meant.
				return ss.reject(a, &mailauth.Rejected{Reason: "OAUTHBEARER without a="}, f)
			}
			return ss.bearer(a, p.Authzid, p.Token, f)
		})
	default:
		return nil
	}
	return a
}

// bearer checks a token for a maildrop.
func (ss *session) bearer(a *authRun, user, token string, f oauthsasl.Failure) error {
	if err := ss.srv.opt.Directory.Bearer(mailauth.POP3, user, token); err != nil {
		return ss.reject(a, err, f)
	}
	return nil
}

// reject turns a refusal into what the style does: Gmail sends the
// failure challenge (the oauthsasl server mechanism sends a *Failure as a
// challenge), Exchange ends the exchange at once (any other error).
func (ss *session) reject(a *authRun, why error, f oauthsasl.Failure) error {
	if !ss.t.failureChallenge {
		return why
	}
	a.rejected = true
	return fmt.Errorf("%w: %w", &f, why)
}

func (ss *session) authCmd(c command) error {
	if ss.tlsFirst() {
		return ss.fail(ss.t.tlsRequired)
	}
	if len(c.args) == 0 {
		// RFC 1734 clients ask for the list with a bare AUTH.
		return ss.multiline("", ss.mechanisms())
	}
	if len(c.args) > 2 {
		return ss.fail(ss.t.unknownCommand)
	}
	mech := strings.ToUpper(c.args[0])
	a := ss.newAuth(mech)
	if a == nil {
		return ss.fail(ss.t.unknownMech)
	}
	var resp []byte
	if len(c.args) == 2 {
		if ss.t.irOnAuthLine != "" {
			ss.log.Info("initial response on the AUTH line refused, closing", "mech", mech)
			_ = ss.fail(ss.t.irOnAuthLine)
			return errEnd
		}
		var err error
		if resp, err = decodeInitialResponse(c.args[1]); err != nil {
			return ss.fail(ss.t.badSASL)
		}
	}
	for round := 0; ; round++ {
		challenge, done, err := a.srv.Next(resp)
		if err != nil {
			return ss.authFailed(a, err)
		}
		if done {
			return ss.login(a.user, "AUTH "+mech, ss.t.authOK)
		}
		if round >= maxAuthRounds {
			return ss.fail(ss.t.badSASL)
		}
		line := ss.t.continuePfx
		if len(challenge) > 0 {
			line = "+ " + base64.StdEncoding.EncodeToString(challenge)
		}
		if err := ss.reply(line); err != nil {
			return err
		}
		answer, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			_ = ss.fail(ss.t.lineTooLong)
			return errEnd
		}
		if err != nil {
			return err
		}
		if a.rejected {
			ss.srv.recordAnswer(answer)
		}
		if answer == "*" {
			return ss.fail(ss.t.authCancelled)
		}
		if resp, err = decodeResponse(answer); err != nil {
			return ss.fail(ss.t.badSASL)
		}
	}
}

// authFailed answers the end of a failed exchange: a refusal gets the
// style's authentication failure, a malformed exchange its protocol error.
func (ss *session) authFailed(a *authRun, err error) error {
	var rej *mailauth.Rejected
	if errors.Is(err, oauthsasl.ErrAuthFailed) || errors.As(err, &rej) {
		ss.refused(a.user, "AUTH "+a.mech, err)
		return ss.fail(ss.t.authFailed)
	}
	ss.log.Info("AUTH exchange malformed", "mech", a.mech, "err", err.Error())
	return ss.fail(ss.t.badSASL)
}

// decodeInitialResponse decodes the initial response on the AUTH line,
// where "=" is the empty one (RFC 5034 §4).
func decodeInitialResponse(arg string) ([]byte, error) {
	if arg == "=" {
		return []byte{}, nil
	}
	return decodeResponse(arg)
}

// decodeResponse decodes a client's base64 line answering a challenge;
// the empty line is the empty answer. "=" is not base64 and not an answer:
// RFC 5034 gives it a meaning only on the AUTH line, and strict servers
// refuse it after a failure challenge (Dovecot: "Invalid base64 data").
// The sandbox used to take it for the empty line, which hid clients that
// send it (go-imap's does). The result is never nil, which the mechanisms
// read as "no response".
func decodeResponse(line string) ([]byte, error) {
	if line == "" {
		return []byte{}, nil
	}
	return base64.StdEncoding.DecodeString(line)
}
