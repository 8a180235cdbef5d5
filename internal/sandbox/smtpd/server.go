package smtpd

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"time"

	"github.com/emersion/go-smtp"

	"mailtokens/internal/clock"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

// Options configures a Server.
type Options struct {
	mailauth.ServerOptions
	// RatePerMinute is how many messages one mailbox may submit in any 60
	// seconds before MAIL is refused with a temporary error; 0 means no
	// limit. Exchange Online's limit is 30.
	RatePerMinute int
	// Clock times the rate limit and Message.Time; nil means real time.
	// A clock.Fake lets a test move past the minute without waiting.
	Clock clock.Clock
	// Deliver, if set, is called once per accepted recipient of every
	// accepted message, after the message is recorded — the demo uses it
	// to drop sent mail into the IMAP server's mailboxes. It must not
	// modify raw.
	Deliver func(rcpt string, raw []byte)
	// MaxMessageBytes overrides the service's message size limit.
	MaxMessageBytes int64
}

// Server is an SMTP submission server with any number of loopback
// listeners sharing one state.
type Server struct {
	opt     Options
	dialect *dialect
	log     *slog.Logger
	clock   clock.Clock

	mu        sync.Mutex
	received  []Message
	arrived   chan struct{} // closed and replaced whenever a message is recorded
	script    script
	sendAs    map[string]map[string]bool // address -> mailboxes that may send as it
	submitted map[string][]time.Time     // mailbox -> when its recent messages were accepted
	ledger    mailauth.Ledger
	listeners *mailauth.Listeners
	conns     mailauth.Conns // every client connection, for Close
}

// New returns a Server with no listeners.
func New(opt Options) (*Server, error) {
	d, ok := dialects[opt.Style]
	if !ok {
		return nil, fmt.Errorf("smtpd: style %q: want %q or %q", opt.Style, provider.Microsoft, provider.Google)
	}
	if opt.Directory == nil {
		return nil, errors.New("smtpd: no Directory")
	}
	if opt.RatePerMinute < 0 {
		return nil, fmt.Errorf("smtpd: RatePerMinute %d is negative", opt.RatePerMinute)
	}
	s := &Server{
		opt:       opt,
		dialect:   d,
		log:       opt.Log("smtpd"),
		clock:     opt.Clock,
		arrived:   make(chan struct{}),
		script:    script{rejectRcpt: map[string]*smtp.SMTPError{}},
		sendAs:    map[string]map[string]bool{},
		submitted: map[string][]time.Time{},
	}
	s.listeners = mailauth.NewListeners("smtpd", opt.ListenHost(), s.log)
	s.ledger.Log = s.log
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	return s, nil
}

// Listen starts a listener on 127.0.0.1 (or Options.Host) with a free port
// and returns its address.
func (s *Server) Listen(mode mailauth.Mode) (addr string, err error) {
	be := backend{srv: s}
	switch mode {
	case mailauth.ImplicitTLS:
		// Connections are *tls.Conn, which go-smtp takes as secure.
	case mailauth.RequireStartTLS:
		be.requireTLS = true
	case mailauth.StartTLS, mailauth.Plain:
	default:
		return "", fmt.Errorf("smtpd: listen: unknown mode %v", mode)
	}
	if !s.dialect.equalsMalformed {
		srv := s.newSMTPServer(mode, &be)
		return s.listeners.Listen(mode, s.opt.TLS, s.conns.Track, srv.Serve, srv)
	}
	// The debug writer that watches the answers belongs to a whole
	// smtp.Server: one per connection.
	serve := mailauth.ServeEach(func() func(net.Listener) error {
		be := be
		be.answers = mailauth.NewAnswerWatch("334")
		srv := s.newSMTPServer(mode, &be)
		srv.Debug = be.answers
		return srv.Serve
	})
	return s.listeners.Listen(mode, s.opt.TLS, s.conns.Track, serve, nil)
}

// newSMTPServer returns the go-smtp server for a listener in mode.
func (s *Server) newSMTPServer(mode mailauth.Mode, be *backend) *smtp.Server {
	srv := smtp.NewServer(be)
	srv.Domain = s.dialect.domain
	// An AUTH XOAUTH2 line carries a base64 JWT of 2,000 characters and
	// more, beyond go-smtp's default of 2,000 (RFC 5321's 1,000, doubled).
	// The limit applies to message lines too; 64 KiB still stops a client
	// that sends no line ends at all.
	srv.MaxLineLength = 64 << 10
	srv.MaxMessageBytes = s.dialect.maxMessageBytes
	if s.opt.MaxMessageBytes > 0 {
		srv.MaxMessageBytes = s.opt.MaxMessageBytes
	}
	// Both services speak SMTPUTF8, and the sandbox stores bytes as sent.
	srv.EnableSMTPUTF8 = true
	// The session decides about AUTH before TLS itself, so that the
	// refusal is worded like the service's, not go-smtp's "523 5.7.10".
	srv.AllowInsecureAuth = true
	// Exchange drops idle submission connections after about ten minutes.
	srv.ReadTimeout = 10 * time.Minute
	srv.WriteTimeout = time.Minute
	srv.ErrorLog = printfLogger{s.log}
	if mode == mailauth.RequireStartTLS || mode == mailauth.StartTLS {
		srv.TLSConfig = s.opt.TLS
	}
	return srv
}

// Close stops every listener and drops every connection. A session in the
// middle of a DATA may still finish recording its message.
func (s *Server) Close() error {
	if s.listeners.Close() {
		s.conns.CloseAll()
	}
	return nil
}

// printfLogger hands go-smtp's error logging to slog.
type printfLogger struct{ l *slog.Logger }

func (p printfLogger) Printf(format string, args ...any) { p.l.Info(fmt.Sprintf(format, args...)) }
func (p printfLogger) Println(args ...any)               { p.l.Info(fmt.Sprint(args...)) }
