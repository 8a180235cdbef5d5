package mailconn

import (
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
// It also remembers whether the connection has ended (closed, ended by the
// server, or a read or write failed), which go-imap's errors do not say in
// their types.
type watchdogConn struct {
	net.Conn
	limit  atomic.Int64 // nanoseconds; 0 = unarmed
	broken atomic.Bool

	mu      sync.Mutex
	timeout error // the first timeout, returned by every later read and write
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
	if err := c.timedOut(); err != nil {
		return 0, err
	}
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Read(p)
	return n, c.failed(err)
}

func (c *watchdogConn) Write(p []byte) (int, error) {
	if err := c.timedOut(); err != nil {
		return 0, err
	}
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Write(p)
	return n, c.failed(err)
}

func (c *watchdogConn) timedOut() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.timeout
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
	c.mu.Lock()
	if c.timeout == nil {
		c.timeout = &silentError{Limit: time.Duration(c.limit.Load())}
		c.Conn.Close()
	}
	err = c.timeout
	c.mu.Unlock()
	return err
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
