package imapd

import (
	"slices"
	"strings"
	"time"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"
	"github.com/emersion/go-sasl"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/sandbox/mailauth"
)

// session is one connection. Before login it only knows how to log in;
// after, the embedded Session is the mailbox's imapmemserver session and
// serves every other command. imapserver checks the connection state
// before it calls those, so the nil Session is never reached.
//
// Embedding the interface rather than *imapmemserver.UserSession keeps
// Move from being promoted: whether the connection offers MOVE is decided
// by which type newSession returns (see movingSession).
type session struct {
	imapserver.Session
	srv     *Server
	answers *mailauth.AnswerWatch      // nil unless the dialect refuses "=" answers
	user    *imapmemserver.UserSession // nil until login
}

// movingSession is a session that implements MOVE.
type movingSession struct{ *session }

// Move serves MOVE and UID MOVE (RFC 6851): COPYUID, then one EXPUNGE per
// message moved, numbered as the client counts.
//
// imapmemserver's own Move cannot be used: it writes the EXPUNGE responses
// itself, numbered after its queue had already shifted them ("* 0 EXPUNGE",
// "* 3 EXPUNGE" for messages 2 and 4 of 5), and queues them as well, so
// that imapserver sends them a second time after the command. Here the
// messages are copied, marked \Deleted and expunged by UID, and the queue
// alone tells every client, this one included, in the order it happened.
// The cost: other clients with the folder selected also see the \Deleted
// flag (FETCH FLAGS) just before the EXPUNGE, which is legal IMAP; and the
// steps are not one atomic change, which no sandbox test relies on.
func (s movingSession) Move(w *imapserver.MoveWriter, numSet imap.NumSet, dest string) error {
	data, err := s.user.Copy(numSet, dest)
	if err != nil {
		return err
	}
	uids := data.SourceUIDs
	if len(uids) == 0 {
		return nil // nothing matched: nothing moved, nothing to report
	}
	if err := w.WriteCopyData(data); err != nil {
		return err
	}
	deleted := &imap.StoreFlags{Op: imap.StoreFlagsAdd, Silent: true, Flags: []imap.Flag{imap.FlagDeleted}}
	if err := s.user.Store(nil, uids, deleted, &imap.StoreOptions{}); err != nil {
		return err
	}
	return s.user.Expunge(nil, &uids)
}

// newSession starts every connection logged out; answers, if not nil,
// watches the connection's SASL answers.
func (s *Server) newSession(answers *mailauth.AnswerWatch) func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
	return func(*imapserver.Conn) (imapserver.Session, *imapserver.GreetingData, error) {
		sess := &session{srv: s, answers: answers}
		if s.opt.NoMove {
			return sess, nil, nil
		}
		return movingSession{sess}, nil, nil
	}
}

// Close releases the view of the selected folder, if any, when the
// connection ends.
func (s *session) Close() error {
	if s.user == nil {
		return nil
	}
	return s.user.Close()
}

// systemFlags are the flags of RFC 3501 §2.3.2 that a client may set, in
// its order. \Recent is left out: no client sets it.
var systemFlags = []imap.Flag{imap.FlagAnswered, imap.FlagFlagged, imap.FlagDeleted, imap.FlagSeen, imap.FlagDraft}

// Select lists every system flag in FLAGS and PERMANENTFLAGS, then the
// keywords in use, and \* in PERMANENTFLAGS because keywords are kept.
// imapmemserver lists only the flags some message has (an empty folder
// said FLAGS ()), which tells a client it cannot set \Seen or \Deleted.
func (s *session) Select(name string, opt *imap.SelectOptions) (*imap.SelectData, error) {
	data, err := s.user.Select(name, opt)
	if err != nil {
		return nil, err
	}
	flags := slices.Clone(systemFlags)
	for _, f := range data.Flags {
		if !slices.ContainsFunc(systemFlags, func(sf imap.Flag) bool { return strings.EqualFold(string(sf), string(f)) }) {
			flags = append(flags, f)
		}
	}
	data.Flags = flags
	data.PermanentFlags = append(slices.Clone(flags), imap.FlagWildcard)
	return data, nil
}

// Namespace is needed because NAMESPACE is advertised; both services have
// one personal namespace.
func (s *session) Namespace() (*imap.NamespaceData, error) {
	return s.user.Namespace()
}

// idlePoll is how often an idling connection looks for news.
const idlePoll = 50 * time.Millisecond

// Idle sends updates (EXISTS, EXPUNGE, FETCH FLAGS) to an idling client
// until it says DONE. imapmemserver's own Idle only wakes up for changes
// queued after it began to wait, and imapserver has already sent "+ idling"
// by then: a message appended in between would wait for the next change,
// and a client would miss new mail. Polling the session's queue has no such
// gap, and one goroutine doing it keeps the updates in order.
func (s *session) Idle(w *imapserver.UpdateWriter, stop <-chan struct{}) error {
	tick := time.NewTicker(idlePoll)
	defer tick.Stop()
	for {
		if err := s.user.Poll(w, true); err != nil {
			return err
		}
		select {
		case <-stop:
			return nil
		case <-tick.C:
		}
	}
}

// Login serves the LOGIN command (a password login).
func (s *session) Login(mailbox, password string) error {
	if err := s.srv.opt.Directory.Password(mailauth.IMAP, mailbox, password); err != nil {
		s.srv.refused("LOGIN", mailbox, err)
		return s.srv.dialect.loginFailed
	}
	s.open("LOGIN", mailbox)
	return nil
}

// AuthenticateMechanisms makes imapserver advertise the service's AUTH=
// capabilities and route every AUTHENTICATE, PLAIN included, to
// Authenticate.
func (s *session) AuthenticateMechanisms() []string {
	return s.srv.dialect.mechanisms
}

// Authenticate returns the server side of mech.
func (s *session) Authenticate(mech string) (sasl.Server, error) {
	d := s.srv.dialect
	if !slices.Contains(d.mechanisms, mech) {
		return nil, d.noMechanism
	}
	var srv sasl.Server
	switch mech {
	case "PLAIN":
		srv = sasl.NewPlainServer(func(identity, mailbox, password string) error {
			// An authorization identity would ask to act as another
			// mailbox with this password; neither service allows that
			// over IMAP.
			if identity != "" && !strings.EqualFold(identity, mailbox) {
				s.srv.refused(mech, identity, &mailauth.Rejected{Reason: "PLAIN with an authorization identity"})
				return d.authFailed
			}
			if err := s.srv.opt.Directory.Password(mailauth.IMAP, mailbox, password); err != nil {
				s.srv.refused(mech, mailbox, err)
				return d.authFailed
			}
			s.open(mech, mailbox)
			return nil
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
	srv = oauthsasl.MapErrors(emptyAsNil{srv}, d.saslError)
	if s.answers != nil {
		srv = s.answers.Guard(srv, d.malformed)
	}
	return srv, nil
}

// emptyAsNil turns an empty challenge into a nil one. go-imap/v2's server
// sends an empty challenge as "+ =", which go-imap/v2's client takes for a
// challenge rather than for RFC 4422's request for the initial response,
// and a nil one as the usual "+ ". go-sasl's PLAIN server asks with an
// empty one when the client sends no initial response.
type emptyAsNil struct{ sasl.Server }

func (e emptyAsNil) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := e.Server.Next(response)
	if len(challenge) == 0 {
		challenge = nil
	}
	return challenge, done, err
}

// bearer decides a token login to mailbox.
func (s *session) bearer(mech, mailbox, token string) error {
	if err := s.srv.opt.Directory.Bearer(mailauth.IMAP, mailbox, token); err != nil {
		return s.srv.dialect.tokenRefused(mech, s.srv.refused(mech, mailbox, err))
	}
	s.open(mech, mailbox)
	return nil
}

// open logs the connection in to mailbox, creating it on first use.
func (s *session) open(mech, mailbox string) {
	s.user = imapmemserver.NewUserSession(s.srv.mailbox(mailbox))
	s.Session = s.user
	s.srv.loggedIn(mech, mailbox)
}
