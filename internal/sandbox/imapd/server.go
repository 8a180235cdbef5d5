package imapd

import (
	"crypto/tls"
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

	conns conns // every client connection, for Close

	mu        sync.Mutex
	mailboxes map[string]*imapmemserver.User // by normalized address
	ledger    mailauth.Ledger
	listeners []net.Listener
	closed    bool
	serving   sync.WaitGroup
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
	s.ledger.Log = s.log
	s.inspect = newInspector(s)
	return s, nil
}

// caps is what the server advertises beyond what go-imap/v2 always adds:
// the IMAP4rev1 extensions Exchange Online and Gmail both offer and
// imapmemserver implements. IMAP4rev2 is left out because neither service
// speaks it.
func (s *Server) caps() imap.CapSet {
	caps := imap.CapSet{
		imap.CapIMAP4rev1:   {},
		imap.CapNamespace:   {},
		imap.CapUIDPlus:     {},
		imap.CapLiteralPlus: {},
	}
	if !s.opt.NoMove {
		caps[imap.CapMove] = struct{}{}
	}
	return caps
}

// Listen starts a listener on 127.0.0.1 with a free port and returns its
// address.
func (s *Server) Listen(mode mailauth.Mode) (addr string, err error) {
	opts := &imapserver.Options{
		NewSession: s.newSession,
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
	if mode != mailauth.Plain && s.opt.TLS == nil {
		return "", fmt.Errorf("imapd: listen %v: Options.TLS is not set", mode)
	}

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("imapd: listen: %w", err)
	}
	ln = s.conns.track(ln)
	if mode == mailauth.ImplicitTLS {
		ln = tls.NewListener(ln, s.opt.TLS)
	}
	srv := imapserver.New(opts)

	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		ln.Close()
		return "", errors.New("imapd: listen: server closed")
	}
	s.listeners = append(s.listeners, ln)
	s.serving.Add(1)
	go func() {
		defer s.serving.Done()
		_ = srv.Serve(ln)
	}()
	s.log.Info("listening", "addr", ln.Addr().String(), "mode", mode.String())
	return ln.Addr().String(), nil
}

// Close stops every listener and drops every connection.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	listeners := s.listeners
	s.mu.Unlock()

	// Serve returns once its listener is closed; the connections' own
	// goroutines end when their connection is.
	for _, ln := range listeners {
		_ = ln.Close()
	}
	s.serving.Wait()
	s.conns.closeAll()
	s.inspect.close()
	return nil
}

// printfLogger hands go-imap/v2's Printf-style error logging to slog.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, args ...any) {
	p.l.Info(fmt.Sprintf(format, args...))
}
