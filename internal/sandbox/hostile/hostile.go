// Package hostile is a misbehaving mail server for tests: on each
// connection it plays a line-oriented script (expect a client line matching
// X, send Y, begin TLS, stall, cut) or stands as a proxy in front of a real
// server and cuts, stalls or meddles on cue. It speaks no protocol of its own, so IMAP,
// POP3 and SMTP tests can share it.
//
// Cutting a connection closes the TCP connection under any TLS: the client
// sees its peer vanish without close_notify, as when a server or a network
// path dies.
package hostile

import (
	"bufio"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// Server accepts connections on loopback and gives each to its handler.
type Server struct {
	ln       net.Listener
	tls      *tls.Config
	handle   func(*Conn)
	done     chan struct{}
	accepted atomic.Int64

	mu    sync.Mutex
	conns map[net.Conn]struct{}
	wg    sync.WaitGroup
}

// Listen starts a server on loopback that runs handle on every connection,
// with TLS from the first byte when conf is not nil. It stops when the test
// ends.
func Listen(t testing.TB, conf *tls.Config, handle func(*Conn)) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{ln: ln, tls: conf, handle: handle, done: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	s.wg.Add(1)
	go s.serve()
	t.Cleanup(s.Close)
	return s
}

// Addr is the server's host:port.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Accepted is how many connections the server has accepted.
func (s *Server) Accepted() int { return int(s.accepted.Load()) }

// Close stops the server and ends every connection.
func (s *Server) Close() {
	select {
	case <-s.done:
		return
	default:
	}
	close(s.done)
	s.ln.Close()
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

func (s *Server) serve() {
	defer s.wg.Done()
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		select {
		case <-s.done:
			s.mu.Unlock()
			raw.Close()
			return
		default:
		}
		s.conns[raw] = struct{}{}
		s.wg.Add(1)
		s.mu.Unlock()
		s.accepted.Add(1)
		go func() {
			defer s.wg.Done()
			defer func() {
				s.mu.Lock()
				delete(s.conns, raw)
				s.mu.Unlock()
				raw.Close()
			}()
			c := &Conn{raw: raw, conn: raw, done: s.done}
			if s.tls != nil {
				tc := tls.Server(raw, s.tls)
				if tc.Handshake() != nil {
					return
				}
				c.conn = tc
			}
			c.r = bufio.NewReader(c.conn)
			s.handle(c)
		}()
	}
}

// Conn is one client connection as the handler sees it.
type Conn struct {
	raw  net.Conn // beneath TLS
	conn net.Conn
	r    *bufio.Reader
	done <-chan struct{}
	last string // the line last read
}

// ReadLine reads the client's next line, without its line end.
func (c *Conn) ReadLine() (string, error) {
	line, err := c.r.ReadString('\n')
	if err != nil {
		return "", err
	}
	c.last = strings.TrimRight(line, "\r\n")
	return c.last, nil
}

// Tag is the first word of the line last read (an IMAP command's tag).
func (c *Conn) Tag() string {
	tag, _, _ := strings.Cut(c.last, " ")
	return tag
}

// Send writes s, with every "$tag" replaced by Tag.
func (c *Conn) Send(s string) error {
	_, err := io.WriteString(c.conn, strings.ReplaceAll(s, "$tag", c.Tag()))
	return err
}

// Writer is a buffered writer on the connection, for handlers that write
// replies of their own making, as much as they like: a write error (the
// client has gone) shows at Flush.
func (c *Conn) Writer() *bufio.Writer { return bufio.NewWriterSize(c.conn, 64<<10) }

// StartTLS begins TLS as the server on a connection in the clear, as after
// a protocol's STARTTLS exchange. A client that sent more before TLS than
// the server has read fails it: that is a command injection.
func (c *Conn) StartTLS(conf *tls.Config) error {
	if c.r.Buffered() > 0 {
		return errors.New("the client sent data after its STARTTLS command, before TLS")
	}
	tc := tls.Server(c.raw, conf)
	if err := tc.Handshake(); err != nil {
		return err
	}
	c.conn, c.r = tc, bufio.NewReader(tc)
	return nil
}

// Cut ends the connection at once: the TCP connection is closed beneath
// any TLS, so no close_notify is sent.
func (c *Conn) Cut() { c.raw.Close() }

// Stall stays silent until the client goes away or the server is closed;
// whatever the client sends is read and ignored.
func (c *Conn) Stall() {
	gone := make(chan struct{})
	go func() {
		io.Copy(io.Discard, c.r)
		close(gone)
	}()
	select {
	case <-gone:
	case <-c.done:
	}
}

// Step is one step of a script. Its parts run in the order of the fields.
type Step struct {
	// Expect is a regular expression that the client's next line must
	// match; if it does not, the connection is cut.
	Expect string
	// Send is written to the client, "$tag" replaced by the tag of the
	// line last expected, Repeat times (0 = once): a long line is a short
	// Send repeated.
	Send   string
	Repeat int
	// TLS, after Send, begins TLS as the server (see [Conn.StartTLS]); a
	// failed handshake ends the script.
	TLS *tls.Config
	// Stall goes silent for good (see [Conn.Stall]).
	Stall bool
	// Cut ends the connection without a goodbye (see [Conn.Cut]).
	Cut bool
}

// Script is a handler that plays steps; when they run out the connection
// is cut.
func Script(steps ...Step) func(*Conn) {
	return func(c *Conn) {
		c.Run(steps...)
		c.Cut()
	}
}

// Run plays steps on c; it returns at the first step that fails (the
// client's line did not match, or it went away).
func (c *Conn) Run(steps ...Step) error {
	for i, st := range steps {
		if st.Expect != "" {
			line, err := c.ReadLine()
			if err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
			if !regexp.MustCompile(st.Expect).MatchString(line) {
				return fmt.Errorf("step %d: client sent %q, want a match of %q", i, line, st.Expect)
			}
		}
		for range max(st.Repeat, 1) {
			if st.Send == "" {
				break
			}
			if err := c.Send(st.Send); err != nil {
				return fmt.Errorf("step %d: %w", i, err)
			}
		}
		if st.TLS != nil {
			if err := c.StartTLS(st.TLS); err != nil {
				return fmt.Errorf("step %d: TLS: %w", i, err)
			}
		}
		if st.Stall {
			c.Stall()
			return nil
		}
		if st.Cut {
			c.Cut()
			return nil
		}
	}
	return nil
}

// Fault is what a proxy does once, when the client sends a line matching
// After: Do runs before the line is passed on; then CutAt bytes of what the
// server sends next pass, and the connection is cut (Cut) or goes silent
// (Stall). With neither, only Do happens.
type Fault struct {
	After string
	Do    func()
	CutAt int
	Cut   bool
	Stall bool
}

// Proxy passes the connection on to upstream (a plain TCP address),
// applying faults. It returns when either side ends.
func (c *Conn) Proxy(upstream string, faults ...Fault) {
	up, err := net.Dial("tcp", upstream)
	if err != nil {
		return
	}
	defer up.Close()
	type armed struct {
		left    int
		stalled bool
	}
	var mu sync.Mutex
	var fault *armed
	used := make([]bool, len(faults))
	res := make([]*regexp.Regexp, len(faults))
	for i, f := range faults {
		res[i] = regexp.MustCompile(f.After)
	}
	gone := make(chan struct{})
	go func() { // client to server, line by line
		defer close(gone)
		defer up.Close() // the client went: so does the server
		for {
			line, err := c.r.ReadString('\n')
			if err != nil {
				return
			}
			c.last = strings.TrimRight(line, "\r\n")
			for i, f := range faults {
				if used[i] || !res[i].MatchString(c.last) {
					continue
				}
				used[i] = true
				if f.Do != nil {
					f.Do()
				}
				if f.Cut || f.Stall {
					mu.Lock()
					fault = &armed{left: f.CutAt, stalled: f.Stall}
					mu.Unlock()
				}
				break
			}
			if _, err := io.WriteString(up, line); err != nil {
				return
			}
		}
	}()
	defer func() {
		c.Cut()
		up.Close()
		<-gone
	}()
	buf := make([]byte, 32<<10)
	for { // server to client
		n, err := up.Read(buf)
		mu.Lock()
		f := fault
		mu.Unlock()
		if f != nil && n >= f.left {
			c.conn.Write(buf[:f.left])
			if f.stalled {
				up.Close()
				select {
				case <-gone:
				case <-c.done:
				}
			}
			return
		}
		if f != nil {
			f.left -= n
		}
		if n > 0 {
			if _, werr := c.conn.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}
