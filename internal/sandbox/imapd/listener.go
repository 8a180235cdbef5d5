package imapd

import (
	"net"
	"sync"
)

// conns tracks the TCP connections of every listener so that Close can
// drop them itself. imapserver.Server.Close would do it, but it waits on a
// WaitGroup that its Serve adds to without holding a lock, which the race
// detector reports when Close follows Listen closely; the sandbox never
// calls it.
type conns struct {
	mu     sync.Mutex
	open   map[net.Conn]struct{}
	closed bool
}

// track wraps ln so that its connections are tracked. It must wrap the TCP
// listener, beneath any TLS: imapserver decides whether a connection is
// secure by whether it is a *tls.Conn.
func (c *conns) track(ln net.Listener) net.Listener {
	return trackingListener{Listener: ln, conns: c}
}

type trackingListener struct {
	net.Listener
	conns *conns
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
	conns *conns
}

func (tc *trackedConn) Close() error {
	tc.conns.mu.Lock()
	delete(tc.conns.open, tc)
	tc.conns.mu.Unlock()
	return tc.Conn.Close()
}

// closeAll closes every tracked connection and refuses new ones.
func (c *conns) closeAll() {
	c.mu.Lock()
	c.closed = true
	open := c.open
	c.open = nil
	c.mu.Unlock()
	for conn := range open {
		conn.(*trackedConn).Conn.Close()
	}
}
