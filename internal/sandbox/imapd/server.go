package imapd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapserver"
	"github.com/emersion/go-imap/v2/imapserver/imapmemserver"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// Options configures a Server.
type Options struct {
	mailauth.ServerOptions
	// NoMove leaves out the MOVE extension (RFC 6851), so that a client's
	// fallback (UID COPY, UID STORE +FLAGS \Deleted, UID EXPUNGE) is
	// exercised. Exchange Online and Gmail both offer MOVE.
	NoMove bool
}

// Server is an IMAP server with any number of loopback listeners sharing
// one set of mailboxes.
type Server struct {
	opt     Options
	dialect *dialect
	log     *slog.Logger
	inspect *inspector

	conns mailauth.Conns // every client connection, for Close

	mu        sync.Mutex
	mailboxes map[string]*imapmemserver.User // by normalized address
	ledger    mailauth.Ledger
	listeners *mailauth.Listeners
}

// New returns a Server with no listeners and no mailboxes.
func New(opt Options) (*Server, error) {
	d, ok := dialects[opt.Style]
	if !ok {
		return nil, fmt.Errorf("imapd: style %q: want %q or %q", opt.Style, provider.Microsoft, provider.Google)
	}
	if opt.Directory == nil {
		return nil, errors.New("imapd: no Directory")
	}
	s := &Server{
		opt:       opt,
		dialect:   d,
		log:       opt.Log("imapd"),
		mailboxes: map[string]*imapmemserver.User{},
	}
	s.listeners = mailauth.NewListeners("imapd", opt.ListenHost(), s.log)
	s.ledger.Log = s.log
	s.inspect = newInspector(s)
	return s, nil
}

// caps is what the server advertises beyond what go-imap/v2 always adds:
// the IMAP4rev1 extensions Exchange Online and Gmail both offer and
// imapmemserver implements. IMAP4rev2 is left out because neither service
// speaks it.
//
// LITERAL+ is left out too. go-imap/v2 always advertises LITERAL-, and
// with LITERAL+ in Caps it added LITERAL+ after login (RFC 7888 §5: a
// server must not advertise both) and accepted a non-synchronizing literal
// of any size even before login, where only LITERAL- was advertised.
// Without it, a {n+} literal of more than 4096 bytes is refused at any
// time, as LITERAL- says.
func (s *Server) caps() imap.CapSet {
	caps := imap.CapSet{
		imap.CapIMAP4rev1: {},
		imap.CapNamespace: {},
		imap.CapUIDPlus:   {},
	}
	if !s.opt.NoMove {
		caps[imap.CapMove] = struct{}{}
	}
	return caps
}

// Listen starts a listener on 127.0.0.1 (or Options.Host) with a free port
// and returns its address.
func (s *Server) Listen(mode mailauth.Mode) (addr string, err error) {
	opts := &imapserver.Options{
		NewSession: s.newSession(nil),
		Caps:       s.caps(),
		Logger:     printfLogger{s.log},
	}
	switch mode {
	case mailauth.ImplicitTLS:
		// Connections are *tls.Conn, which imapserver takes as secure.
	case mailauth.RequireStartTLS:
		opts.TLSConfig = s.opt.TLS
	case mailauth.StartTLS:
		opts.TLSConfig = s.opt.TLS
		opts.InsecureAuth = true
	case mailauth.Plain:
		opts.InsecureAuth = true
	default:
		return "", fmt.Errorf("imapd: listen: unknown mode %v", mode)
	}
	if !s.dialect.equalsMalformed {
		return s.listeners.Listen(mode, s.opt.TLS, s.conns.Track, imapserver.New(opts).Serve, nil)
	}
	// The debug writer that watches the answers belongs to a whole
	// imapserver.Server: one per connection.
	serve := mailauth.ServeEach(func() func(net.Listener) error {
		o := *opts
		answers := mailauth.NewAnswerWatch("+")
		o.DebugWriter, o.NewSession = answers, s.newSession(answers)
		return imapserver.New(&o).Serve
	})
	return s.listeners.Listen(mode, s.opt.TLS, s.conns.Track, serve, nil)
}

// Close stops every listener and drops every connection.
func (s *Server) Close() error {
	if s.listeners.Close() {
		// The connections' own goroutines end when their connection does.
		s.conns.CloseAll()
		s.inspect.close()
	}
	return nil
}

// printfLogger hands go-imap/v2's Printf-style error logging to slog.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, args ...any) {
	p.l.Info(fmt.Sprintf(format, args...))
}
