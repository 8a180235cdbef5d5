package pop3d

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"sync"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

func offersSTLS(m mailauth.Mode) bool { return m == mailauth.StartTLS || m == mailauth.RequireStartTLS }

// Options configure a Server; Style defaults to provider.Microsoft.
type Options struct {
	mailauth.ServerOptions
}

// Server is a POP3 server on loopback that holds mailboxes in memory. It
// stands in for Exchange Online's and Gmail's POP3 in tests and the demo.
type Server struct {
	opt   Options
	texts *texts
	log   *slog.Logger

	mu        sync.Mutex
	boxes     map[string]*maildrop
	stats     counts
	faults    faults
	listeners []net.Listener
	conns     map[net.Conn]struct{}
	closed    bool
	done      chan struct{} // closed by Close: sessions stop waiting
	wg        sync.WaitGroup
}

// New returns a Server; Listen starts it.
func New(opt Options) *Server {
	if opt.Directory == nil {
		panic("pop3d: Options.Directory is nil")
	}
	if opt.Style == "" {
		opt.Style = provider.Microsoft
	}
	t := styles[opt.Style]
	if t == nil {
		panic(fmt.Sprintf("pop3d: unknown style %v", opt.Style))
	}
	return &Server{
		opt:   opt,
		texts: t,
		log:   opt.Log("pop3d"),
		boxes: map[string]*maildrop{},
		stats: counts{mailboxes: map[string]*MailboxStats{}},
		conns: map[net.Conn]struct{}{},
		done:  make(chan struct{}),
	}
}

// Listen starts serving connections secured as mode on a new loopback port
// and returns its address. A Server may listen in several modes at once;
// they share the mailboxes.
func (s *Server) Listen(mode mailauth.Mode) (addr string, err error) {
	if mode < mailauth.ImplicitTLS || mode > mailauth.Plain {
		return "", fmt.Errorf("pop3d: listen: unknown mode %v", mode)
	}
	if mode != mailauth.Plain && s.opt.TLS == nil {
		return "", fmt.Errorf("pop3d: listen %v: Options.TLS is nil", mode)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", fmt.Errorf("pop3d: listen %v: %w", mode, err)
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = ln.Close()
		return "", errors.New("pop3d: listen on a closed server")
	}
	s.listeners = append(s.listeners, ln)
	s.wg.Add(1)
	s.mu.Unlock()
	go s.serve(ln, mode)
	s.log.Info("listening", "addr", ln.Addr().String(), "mode", mode.String())
	return ln.Addr().String(), nil
}

func (s *Server) serve(ln net.Listener, mode mailauth.Mode) {
	defer s.wg.Done()
	for {
		conn, err := ln.Accept()
		if err != nil {
			return // closed
		}
		if !s.track(conn) {
			_ = conn.Close()
			return
		}
		go func() {
			defer s.wg.Done()
			defer s.untrack(conn)
			newSession(s, conn, mode).run()
		}()
	}
}

// track registers a connection so that Close can end it.
func (s *Server) track(conn net.Conn) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.conns[conn] = struct{}{}
	s.stats.connections++
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(conn net.Conn) {
	_ = conn.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.conns, conn)
}

// Close stops the listeners, drops every connection (which commits
// nothing) and waits for the sessions to end.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.done)
	for _, ln := range s.listeners {
		_ = ln.Close()
	}
	for c := range s.conns {
		_ = c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
	return nil
}

// Stats counts what clients did, for assertions.
type Stats struct {
	// Connections is the number of connections accepted.
	Connections int
	// Mailboxes holds the counts per mailbox, by lower-cased name.
	Mailboxes map[string]MailboxStats
	// ChallengeAnswers are the lines clients sent back to a failure
	// challenge, in order, as sent: "" is the empty line Gmail expects
	// after an XOAUTH2 failure, "AQ==" the 0x01 of OAUTHBEARER.
	ChallengeAnswers []string
}

// MailboxStats are one mailbox's counts.
type MailboxStats struct {
	Logins       int // sessions that logged in (and locked the maildrop)
	AuthFailures int // logins refused: bad password or token, not [IN-USE]
	InUse        int // logins refused with [IN-USE]
	Retrs        int // RETR commands answered with +OK
	Tops         int // TOP commands answered with +OK
	Deleted      int // messages removed when a session ended with QUIT
}

// counts is Stats as the server keeps it, under s.mu.
type counts struct {
	connections      int
	mailboxes        map[string]*MailboxStats
	challengeAnswers []string
}

// Stats returns a copy of the counts so far.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{
		Connections:      s.stats.connections,
		Mailboxes:        make(map[string]MailboxStats, len(s.stats.mailboxes)),
		ChallengeAnswers: slices.Clone(s.stats.challengeAnswers),
	}
	for k, v := range s.stats.mailboxes {
		out.Mailboxes[k] = *v
	}
	return out
}

// Mailbox returns the counts of one mailbox (zero if it saw nothing).
func (st Stats) Mailbox(name string) MailboxStats { return st.Mailboxes[norm(name)] }

// mailboxStats returns the counts for name, creating them. s.mu must be
// held.
func (s *Server) mailboxStats(name string) *MailboxStats {
	m := s.stats.mailboxes[name]
	if m == nil {
		m = &MailboxStats{}
		s.stats.mailboxes[name] = m
	}
	return m
}

// count updates name's counts under the lock.
func (s *Server) count(name string, f func(*MailboxStats)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s.mailboxStats(norm(name)))
}

// recordAnswer keeps a client's answer to a failure challenge.
func (s *Server) recordAnswer(line string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.challengeAnswers = append(s.stats.challengeAnswers, line)
}

// wait blocks for d or until Close.
func (s *Server) wait(d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-s.done:
	}
}
