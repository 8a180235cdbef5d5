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
type watchdogConn struct {
	net.Conn
	limit atomic.Int64 // nanoseconds; 0 = unarmed
}

func (c *watchdogConn) Read(p []byte) (int, error) {
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetReadDeadline(time.Now().Add(time.Duration(d)))
	}
	return c.Conn.Read(p)
}

func (c *watchdogConn) Write(p []byte) (int, error) {
	if d := c.limit.Load(); d > 0 {
		c.Conn.SetWriteDeadline(time.Now().Add(time.Duration(d)))
	}
	return c.Conn.Write(p)
}

// arm sets the limit, and applies it at once to the read already waiting.
func (c *watchdogConn) arm(d time.Duration) {
	c.limit.Store(int64(d))
	c.Conn.SetDeadline(time.Now().Add(d))
}
