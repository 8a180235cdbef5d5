package mailauth

import (
	"net"
	"sync"
)

// Conns tracks the TCP connections of a server's listeners so that its
// Close can drop them itself: the IMAP server's, because
// imapserver.Server.Close waits on a WaitGroup that its Serve adds to
// without holding a lock, which the race detector reports when Close
// follows Listen closely; and any server that serves each connection with
// a library server of its own ([ServeEach]). The zero value is ready.
type Conns struct {
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

// Track wraps ln so that its connections are tracked: a wrap for
// [Listeners.Listen]. It must wrap the TCP listener, beneath any TLS: the
// libraries decide whether a connection is secure by whether it is a
// *tls.Conn.
func (c *Conns) Track(ln net.Listener) net.Listener {
	return trackingListener{Listener: ln, conns: c}
}

type trackingListener struct {
	net.Listener
	conns *Conns
}

func (l trackingListener) Accept() (net.Conn, error) {
	conn, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	c := l.conns
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		conn.Close()
		return nil, net.ErrClosed
	}
	if c.open == nil {
		c.open = map[net.Conn]struct{}{}
	}
	tc := &trackedConn{Conn: conn, conns: c}
	c.open[tc] = struct{}{}
	return tc, nil
}

type trackedConn struct {
	net.Conn
	conns *Conns
}

func (tc *trackedConn) Close() error {
	tc.conns.mu.Lock()
	delete(tc.conns.open, tc)
	tc.conns.mu.Unlock()
	return tc.Conn.Close()
}

// CloseAll closes every tracked connection and refuses new ones.
func (c *Conns) CloseAll() {
	c.mu.Lock()
	c.closed = true
	open := c.open
	c.open = nil
	c.mu.Unlock()
	for conn := range open {
		conn.(*trackedConn).Conn.Close()
	}
}
