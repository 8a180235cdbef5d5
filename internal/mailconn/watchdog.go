package mailconn

import (
	"net"
	"sync/atomic"
	"time"
)

// watchdogConn gives go-imap, which has no timeouts, an inactivity limit:
// once armed, every read and write must make progress within the limit, so
// a server that vanishes without closing the connection fails the command
// instead of hanging the worker, while a 100 MB message that keeps flowing
// is never cut off.
//
// It also remembers whether the connection has ended (closed, ended by the
// server, or a read or write failed), which go-imap's errors do not say in
// their types.
type watchdogConn struct {
	net.Conn
	limit  atomic.Int64 // nanoseconds; 0 = unarmed
	broken atomic.Bool
}

func (c *watchdogConn) Read(p []byte) (int, error) {
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Read(p)
	if err != nil {
		c.broken.Store(true)
	}
	return n, err
}

func (c *watchdogConn) Write(p []byte) (int, error) {
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(d)))
	}
	n, err := c.Conn.Write(p)
	if err != nil {
		c.broken.Store(true)
	}
	return n, err
}

func (c *watchdogConn) Close() error {
	c.broken.Store(true)
	return c.Conn.Close()
}

// arm sets the limit, and applies it at once to the read already waiting.
func (c *watchdogConn) arm(d time.Duration) {
	c.limit.Store(int64(d))
	c.Conn.SetDeadline(time.Now().Add(d))
}
