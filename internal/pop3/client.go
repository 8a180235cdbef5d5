package pop3

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"
)

// DefaultTimeout is the idle timeout used when Dial or NewClient is given
// zero or less.
const DefaultTimeout = time.Minute

// readBufferSize is larger than bufio's default so that streaming a large
// message costs fewer reads and deadline updates; it is not a line limit
// (see MaxLineLength; a message body's lines have none).
const readBufferSize = 64 << 10

// Client is a connection to a POP3 server. It is not safe for concurrent
// use, except that Close may be called from another goroutine to stop a call
// in progress.
type Client struct {
	raw  net.Conn      // the connection as given or dialled; closing it ends everything
	dc   *deadlineConn // raw with idle deadlines
	r    *textproto.Reader
	w    *bufio.Writer
	host string // for the TLS server name when the caller's config has none

	isTLS    bool
	greeting string
	body     *messageReader // the open RETR or TOP body, if any
	err      error          // set once the connection is out of step with the server
	closed   atomic.Bool
}

// Dial connects to addr ("host:port") and reads the server's greeting. With
// a tlsConfig it speaks TLS from the first byte (port 995); without one it
// speaks plain text, and StartTLS may upgrade the connection. A config
// without ServerName is used with the host of addr. timeout bounds each read
// and write (see the package documentation); ctx bounds the whole of Dial.
func Dial(ctx context.Context, addr string, tlsConfig *tls.Config, timeout time.Duration) (*Client, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("pop3: dial %s: %w", addr, err)
	}
	timeout = orDefault(timeout)
	d := net.Dialer{Timeout: timeout}
	raw, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("pop3: dial %s: %w", addr, err)
	}
	c := newClient(raw, timeout, host)
	err = c.withContext(ctx, "connect", func() error {
		if tlsConfig != nil {
			if err := c.handshake(tlsConfig); err != nil {
				return err
			}
		}
		return c.readGreeting()
	})
	if err != nil {
		_ = raw.Close()
		return nil, err
	}
	return c, nil
}

// NewClient runs POP3 over conn, which may already be a *tls.Conn, and
// reads the greeting. timeout is as for Dial. On error conn is closed.
func NewClient(conn net.Conn, timeout time.Duration) (*Client, error) {
	host, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	c := newClient(conn, orDefault(timeout), host)
	_, c.isTLS = conn.(*tls.Conn)
	if err := c.readGreeting(); err != nil {
		_ = conn.Close()
		return nil, err
	}
	return c, nil
}

func orDefault(timeout time.Duration) time.Duration {
	if timeout <= 0 {
		return DefaultTimeout
	}
	return timeout
}

func newClient(raw net.Conn, timeout time.Duration, host string) *Client {
	c := &Client{raw: raw, dc: &deadlineConn{Conn: raw, timeout: timeout}, host: host}
	c.setTransport(c.dc)
	return c
}

func (c *Client) setTransport(conn net.Conn) {
	c.r = textproto.NewReader(bufio.NewReaderSize(conn, readBufferSize))
	c.w = bufio.NewWriter(conn)
}

func (c *Client) readGreeting() error {
	text, err := c.status("greeting")
	if err != nil {
		return err
	}
	c.greeting = text
	return nil
}

// Greeting returns the text of the server's greeting after "+OK", which
// names the service ("The Microsoft Exchange POP3 service is ready.",
// "Gpop ready for requests from ...").
func (c *Client) Greeting() string { return c.greeting }

// IsTLS reports whether the connection is encrypted, from the first byte or
// after StartTLS.
func (c *Client) IsTLS() bool { return c.isTLS }

// handshake starts TLS as the client over the idle-deadline connection.
func (c *Client) handshake(config *tls.Config) error {
	config = config.Clone()
	if config.ServerName == "" && !config.InsecureSkipVerify {
		config.ServerName = c.host
	}
	tc := tls.Client(c.dc, config)
	if err := tc.Handshake(); err != nil {
		return c.fail("TLS handshake", err)
	}
	c.setTransport(tc)
	c.isTLS = true
	return nil
}

// withContext runs f so that ctx ending stops it. Stopping a read half-way
// leaves the connection out of step, so the Client is unusable afterwards.
func (c *Client) withContext(ctx context.Context, command string, f func() error) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("pop3 %s: %w", command, err)
	}
	stop := context.AfterFunc(ctx, c.dc.abort)
	err := f()
	if !stop() {
		// The abort ran, during f or just after it: either way every later
		// read fails, and the context's error is the honest explanation.
		cerr := fmt.Errorf("pop3 %s: %w", command, context.Cause(ctx))
		if c.err == nil {
			c.err = cerr
			_ = c.raw.Close()
		}
		return cerr
	}
	return err
}

// fail records that the connection is out of step with the server (an I/O
// error, a timeout, a reply that makes no sense) and closes it: no later
// command could be matched with its reply. Nothing is committed, so
// deletions marked in this session are not carried out.
func (c *Client) fail(command string, err error) error {
	if errors.Is(err, errAborted) {
		err = context.Canceled
	}
	err = fmt.Errorf("pop3 %s: %w", command, err)
	if c.err == nil {
		c.err = err
		_ = c.raw.Close()
	}
	return err
}

// Broken reports whether the connection can carry no more commands: it was
// closed, or an error left it out of step with the server. A -ERR reply
// does not break it.
func (c *Client) Broken() bool { return c.closed.Load() || c.err != nil }

// ready says whether a command may be sent now.
func (c *Client) ready() error {
	if c.closed.Load() {
		return ErrClosed
	}
	if c.err != nil {
		return fmt.Errorf("pop3: connection unusable since an earlier error: %w", c.err)
	}
	if c.body != nil {
		return ErrBodyOpen
	}
	return nil
}

// send writes one command line. command is how the line is named in errors
// (without secrets).
func (c *Client) send(command, line string) error {
	if strings.ContainsAny(line, "\r\n") {
		// Checked by the callers that take arguments; this is the last
		// guard against a second command smuggled into a line.
		return fmt.Errorf("pop3 %s: argument contains a line break", command)
	}
	c.w.WriteString(line)
	c.w.WriteString("\r\n")
	if err := c.w.Flush(); err != nil {
		return c.fail(command, err)
	}
	return nil
}

// status reads a status line. A -ERR is returned as *Error, which leaves
// the connection usable.
func (c *Client) status(command string) (string, error) {
	line, err := c.readLine()
	if err != nil {
		return "", c.fail(command, err)
	}
	ind, text, err := parseStatus(line, false)
	if err != nil {
		return "", c.fail(command, err)
	}
	if ind == replyErr {
		return "", newError(command, text)
	}
	return text, nil
}

// cmd sends a command and reads its status line.
func (c *Client) cmd(command, line string) (string, error) {
	if err := c.ready(); err != nil {
		return "", err
	}
	if err := c.send(command, line); err != nil {
		return "", err
	}
	return c.status(command)
}

// lines reads the rest of a multi-line reply, undoing dot-stuffing, and
// hands each line to each. A line each rejects does not stop the reading:
// the reply is read to its end so that the connection stays in step, and
// the first rejection is returned. A reply longer than MaxListingLines or
// MaxListingBytes fails the connection.
func (c *Client) lines(command string, each func(string) error) error {
	var first error
	var n, size int
	for {
		line, err := c.readLine()
		if err != nil {
			return c.fail(command, err)
		}
		if line == "." {
			break
		}
		n, size = n+1, size+len(line)
		if n > MaxListingLines || size > MaxListingBytes {
			return c.fail(command, fmt.Errorf("%w: more than %d lines or %d bytes", ErrTooLong, MaxListingLines, MaxListingBytes))
		}
		if err := each(strings.TrimPrefix(line, ".")); err != nil && first == nil {
			first = err
		}
	}
	if first != nil {
		return fmt.Errorf("pop3 %s: %w", command, first)
	}
	return nil
}

// Capabilities asks the server what it supports (CAPA) and returns one
// entry per line, such as "UIDL", "SASL PLAIN XOAUTH2" or "STLS". A server
// without CAPA (plain RFC 1939) gets nil and no error. What a server lists
// may change after StartTLS and after login, so ask again then.
func (c *Client) Capabilities(ctx context.Context) ([]string, error) {
	var caps []string
	err := c.withContext(ctx, "CAPA", func() error {
		var err error
		caps, err = c.capa()
		return err
	})
	return caps, err
}

func (c *Client) capa() ([]string, error) {
	_, err := c.cmd("CAPA", "CAPA")
	var perr *Error
	if errors.As(err, &perr) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var caps []string
	err = c.lines("CAPA", func(line string) error {
		if line = strings.TrimSpace(line); line != "" {
			caps = append(caps, line)
		}
		return nil
	})
	return caps, err
}

// StartTLS upgrades a plain connection with STLS (RFC 2595). It refuses,
// without sending anything, when the server does not list STLS. A config
// without ServerName is used with the host the Client was dialled with; nil
// means the defaults. Capabilities learnt before are void afterwards.
func (c *Client) StartTLS(config *tls.Config) error {
	if err := c.ready(); err != nil {
		return err
	}
	if c.isTLS {
		return errors.New("pop3 STLS: the connection is already TLS")
	}
	caps, err := c.capa()
	if err != nil {
		return err
	}
	if !HasCapability(caps, "STLS") {
		return ErrSTLSNotOffered
	}
	if _, err := c.cmd("STLS", "STLS"); err != nil {
		return err
	}
	// Bytes that came with the +OK were sent before TLS and could have been
	// injected by anyone on the path (the STARTTLS command injection of
	// CVE-2011-0411, in reverse); reading them as TLS-protected replies
	// would trust them.
	if n := c.r.R.Buffered(); n > 0 {
		return c.fail("STLS", fmt.Errorf("%w: %d bytes arrived with the STLS reply, before TLS", ErrMalformed, n))
	}
	if config == nil {
		config = &tls.Config{}
	}
	return c.handshake(config)
}

// Quit ends the session with QUIT, which makes the server carry out the
// deletions marked with Dele (the UPDATE state), and closes the connection.
// Only a nil error means the deletions happened; after any error they may
// or may not have, and the next session will tell (the messages are listed
// again or not). An open message body is read to its end first.
func (c *Client) Quit() error {
	if c.body != nil && c.err == nil && !c.closed.Load() {
		if err := c.body.Close(); err != nil {
			_ = c.Close()
			return err
		}
	}
	_, err := c.cmd("QUIT", "QUIT")
	_ = c.Close()
	return err
}

// Close closes the connection without QUIT: the server deletes nothing that
// was marked in this session. It may be called more than once, and from
// another goroutine to stop a call in progress.
func (c *Client) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	if err := c.raw.Close(); err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("pop3: close: %w", err)
	}
	return nil
}
