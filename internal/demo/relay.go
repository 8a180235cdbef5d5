package demo

import (
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/emersion/go-smtp"
)

// relay is the host a private Dovecot's submission relays to in the demo:
// an SMTP receiver on loopback that saves each message into the mailbox of
// each recipient, in the same Dovecot, so that what batchmail sends comes
// back to evmail, as it does through Exchange when a mailbox writes to
// itself. It offers no AUTH and takes mail for anyone: only Dovecot, on
// this machine, is told where it listens, and it sends nothing anywhere.
type relay struct {
	ln     net.Listener
	srv    *smtp.Server
	served chan struct{} // closed when Serve has returned

	mu     sync.Mutex
	closed bool
	saves  sync.WaitGroup // Data calls in progress; Add only under mu while open
}

// listenRelay binds the relay's port, so that Dovecot can be configured
// with it before there is a Dovecot to save into; serve starts taking mail.
func listenRelay() (*relay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("listen for Dovecot's relayed mail: %w", err)
	}
	return &relay{ln: ln}, nil
}

// Addr is where the relay listens, host:port.
func (r *relay) Addr() string { return r.ln.Addr().String() }

// serve takes mail and hands each message to save once per recipient.
func (r *relay) serve(save func(rcpt string, msg []byte) error, log *slog.Logger) {
	r.srv = smtp.NewServer(&relayBackend{relay: r, save: save, log: log})
	r.srv.Domain = "relay.demo.test"
	// Dovecot's submission sets no size or recipient limit of its own;
	// these only bound what one message can make the demo hold in memory.
	// Lines may be long: batchmail sends messages byte for byte.
	r.srv.MaxMessageBytes = 64 << 20
	r.srv.MaxLineLength = 64 << 10
	r.srv.MaxRecipients = 1000
	r.srv.EnableSMTPUTF8 = true
	r.srv.ReadTimeout = 5 * time.Minute
	r.srv.WriteTimeout = time.Minute
	r.srv.ErrorLog = relayErrorLog{log}
	r.served = make(chan struct{})
	go func() {
		defer close(r.served)
		_ = r.srv.Serve(r.ln)
	}()
}

// Close stops taking mail and waits for the saves in progress, so that no
// doveadm outlives the relay and Dovecot can stop next.
func (r *relay) Close() {
	if r.srv != nil {
		_ = r.srv.Close()
	}
	// Also when serve never ran, or ran but Serve had not yet registered
	// the listener with the server when Close looked for it.
	_ = r.ln.Close()
	if r.served != nil {
		<-r.served
	}
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	r.saves.Wait()
}

// startSave counts a save in progress, unless the relay is closing.
func (r *relay) startSave() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return false
	}
	r.saves.Add(1)
	return true
}

type relayBackend struct {
	relay *relay
	save  func(rcpt string, msg []byte) error
	log   *slog.Logger
}

func (b *relayBackend) NewSession(*smtp.Conn) (smtp.Session, error) {
	return &relaySession{backend: b}, nil
}

// relaySession is one transaction at a time, as go-smtp drives it.
type relaySession struct {
	backend *relayBackend
	rcpts   []string
}

func (s *relaySession) Mail(string, *smtp.MailOptions) error { return nil }

func (s *relaySession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.rcpts = append(s.rcpts, to)
	return nil
}

// Data saves the message for every recipient. A failed save answers 451,
// which Dovecot passes on to batchmail, which keeps the message and tries
// again later. With several recipients the retry saves again for those
// that had succeeded; the demo sends to one.
func (s *relaySession) Data(r io.Reader) error {
	if !s.backend.relay.startSave() {
		return &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "the demo is stopping"}
	}
	defer s.backend.relay.saves.Done()
	msg, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	for _, rcpt := range s.rcpts {
		if err := s.backend.save(rcpt, msg); err != nil {
			s.backend.log.Warn("relay: save into Dovecot failed", "rcpt", rcpt, "err", err)
			return &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0},
				Message: "could not save the message into Dovecot: " + firstLine(err)}
		}
	}
	return nil
}

func (s *relaySession) Reset() { s.rcpts = nil }

func (s *relaySession) Logout() error { return nil }

// firstLine keeps a reply on one line: doveadm's errors may run to several.
func firstLine(err error) string {
	line, _, _ := strings.Cut(err.Error(), "\n")
	return line
}

// relayErrorLog sends go-smtp's own complaints (a connection that broke
// off) to the demo's log.
type relayErrorLog struct{ log *slog.Logger }

func (l relayErrorLog) Printf(format string, v ...any) {
	l.log.Warn("relay: " + fmt.Sprintf(format, v...))
}

func (l relayErrorLog) Println(v ...any) {
	l.log.Warn("relay: " + strings.TrimSuffix(fmt.Sprintln(v...), "\n"))
}
