package mailconn

import (
	"errors"
	"fmt"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// watchdogConn gives go-imap, which has no usable timeouts, an inactivity
// limit: every read and write must make progress within the limit, so a
// server that goes silent fails the command instead of hanging the worker,
// while a 100 MB message that keeps flowing is never cut off.
//
// The deadlines are its own: go-imap sets the read deadline to none after
// every reply, so the conn ignores deadlines set from outside. And the
// first timeout closes the connection, for go-imap reads again after a
// timeout (three more waits before it gives up).
//
// For IMAP it also bounds the length of the server's replies (see
// [replyLimit]); passing the bound closes the connection too.
//
// It also remembers whether the connection has ended (closed, ended by the
// server, or a read or write failed), which go-imap's errors do not say in
// their types.
type watchdogConn struct {
	net.Conn
	limit  atomic.Int64 // nanoseconds; 0 = unarmed
	broken atomic.Bool

	mu      sync.Mutex
	replies *replyLimit // nil: not bounded
	fatal   error       // what closed the connection, returned by every later read and write
}

// silentError is a server that sent or took nothing for Limit: the
// connection was closed.
type silentError struct{ Limit time.Duration }

func (e *silentError) Error() string {
	return fmt.Sprintf("the server sent nothing for %v: connection closed", e.Limit)
}

// Timeout is true: a silentError is a [net.Error] timeout.
func (e *silentError) Timeout() bool   { return true }
func (e *silentError) Temporary() bool { return true }
func (e *silentError) Unwrap() error   { return os.ErrDeadlineExceeded }

func (c *watchdogConn) Read(p []byte) (int, error) {
	if err := c.closedBy(); err != nil {
		return 0, err
	}
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		var serr error
		if c.replies != nil {
			serr = c.replies.scan(p[:n])
		}
		c.mu.Unlock()
		if serr != nil {
			return 0, c.close(serr)
		}
	}
	return n, c.failed(err)
}

func (c *watchdogConn) Write(p []byte) (int, error) {
	if err := c.closedBy(); err != nil {
		return 0, err
	}
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Write(p)
	return n, c.failed(err)
}

func (c *watchdogConn) closedBy() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.fatal
}

// failed notes a failed read or write; a timeout closes the connection.
func (c *watchdogConn) failed(err error) error {
	if err == nil {
		return nil
	}
	c.broken.Store(true)
	if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		return err
	}
	return c.close(&silentError{Limit: time.Duration(c.limit.Load())})
}

// close closes the connection for the reason err (the first reason wins,
// and is returned).
func (c *watchdogConn) close(err error) error {
	c.broken.Store(true)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fatal == nil {
		c.fatal = err
		c.Conn.Close()
	}
	return c.fatal
}

// cause is err with the reason the watchdog closed the connection in its
// chain: protocol libraries report a failed read in words of their own
// ("in response-data: …") and drop its type, which callers act on.
func (c *watchdogConn) cause(err error) error {
	fatal := c.closedBy()
	if err == nil || fatal == nil || errors.Is(err, fatal) {
		return err
	}
	return fatal
}

// streaming exempts the next size bytes from the reply bound: a message
// body the caller streams, never holding it in memory.
func (c *watchdogConn) streaming(size int64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.replies != nil {
		c.replies.stream(size)
	}
}

func (c *watchdogConn) Close() error {
	c.broken.Store(true)
	return c.Conn.Close()
}

// The deadlines belong to the watchdog: callers' ones are ignored.
func (c *watchdogConn) SetDeadline(time.Time) error      { return nil }
func (c *watchdogConn) SetReadDeadline(time.Time) error  { return nil }
func (c *watchdogConn) SetWriteDeadline(time.Time) error { return nil }

// arm sets the limit, and applies it at once to the read already waiting.
func (c *watchdogConn) arm(d time.Duration) {
	c.limit.Store(int64(d))
	c.Conn.SetDeadline(time.Now().Add(d))
}
