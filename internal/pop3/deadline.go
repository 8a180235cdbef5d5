package pop3

import (
	"errors"
	"net"
	"sync"
	"time"
)

// deadlineConn gives every read and write on a connection its own deadline,
// timeout from the moment it starts. This makes the Client's timeout an idle
// timeout: a silent server is given up on after timeout, and a 100 MB
// message that keeps arriving is never cut off because the whole transfer
// took longer than timeout.
//
// TLS runs on top of it, so the handshake and every record read are bounded
// the same way.
type deadlineConn struct {
	net.Conn
	timeout time.Duration

	// mu orders arming a deadline against abort: without it a Read could
	// arm a fresh deadline just after abort set one in the past, and a
	// cancelled context would wait out the whole timeout.
	mu      sync.Mutex
	aborted bool
}

// errAborted is returned by reads and writes after abort; callers report
// the context's error instead.
var errAborted = errors.New("aborted")

func (d *deadlineConn) Read(p []byte) (int, error) {
	if err := d.arm(d.Conn.SetReadDeadline); err != nil {
		return 0, err
	}
	return d.Conn.Read(p)
}

func (d *deadlineConn) Write(p []byte) (int, error) {
	if err := d.arm(d.Conn.SetWriteDeadline); err != nil {
		return 0, err
	}
	return d.Conn.Write(p)
}

func (d *deadlineConn) arm(set func(time.Time) error) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.aborted {
		return errAborted
	}
	return set(time.Now().Add(d.timeout))
}

// abort makes a read or write in progress return at once, and every later
// one fail. It is how a cancelled context stops a call.
func (d *deadlineConn) abort() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.aborted = true
	_ = d.Conn.SetDeadline(time.Unix(1, 0))
}
