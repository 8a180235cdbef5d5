package mailauth

import (
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"sync"
)

// Listeners are a sandbox mail server's listeners (on loopback unless its
// options name a Host) and the
// goroutines serving them: Listen opens one, Close stops them all. The
// IMAP and SMTP servers share it.
type Listeners struct {
	name string // "imapd": prefixes errors
	host string // the address to listen on
	log  *slog.Logger

	mu      sync.Mutex
	closed  bool
	lns     []net.Listener
	closers []io.Closer
	serving sync.WaitGroup
}

// NewListeners returns no listeners yet for the server called name, which
// will listen on host (an IP address).
func NewListeners(name, host string, log *slog.Logger) *Listeners {
	return &Listeners{name: name, host: host, log: log}
}

// Listen opens a listener on the host with a free port for mode (TLS from
// cfg for ImplicitTLS, which every mode but Plain needs), passes it through
// wrap when not nil (before TLS: to track the raw connections), and serves
// it with serve in a goroutine. srv, when not nil, is closed by Close
// before the listeners (a library server that tracks its sessions). It
// returns the address.
func (l *Listeners) Listen(mode Mode, cfg *tls.Config, wrap func(net.Listener) net.Listener, serve func(net.Listener) error, srv io.Closer) (string, error) {
	if mode != Plain && cfg == nil {
		return "", fmt.Errorf("%s: listen %v: Options.TLS is not set", l.name, mode)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(l.host, "0"))
	if err != nil {
		return "", fmt.Errorf("%s: listen: %w", l.name, err)
	}
	if wrap != nil {
		ln = wrap(ln)
	}
	if mode == ImplicitTLS {
		ln = tls.NewListener(ln, cfg)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		ln.Close()
		return "", fmt.Errorf("%s: listen: %w", l.name, errClosed)
	}
	l.lns = append(l.lns, ln)
	if srv != nil {
		l.closers = append(l.closers, srv)
	}
	l.serving.Add(1)
	go func() {
		defer l.serving.Done()
		_ = serve(ln)
	}()
	l.log.Info("listening", "addr", ln.Addr().String(), "mode", mode.String())
	return ln.Addr().String(), nil
}

var errClosed = errors.New("server closed")

// Close stops every server and listener and waits for their goroutines; it
// reports whether this call closed them (false: closed before).
func (l *Listeners) Close() bool {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return false
	}
	l.closed = true
	closers, lns := l.closers, l.lns
	l.mu.Unlock()

	for _, c := range closers {
		_ = c.Close()
	}
	// Close the listeners too: one whose Serve had not registered it with
	// its library server yet would otherwise wait in Accept forever.
	for _, ln := range lns {
		_ = ln.Close()
	}
	l.serving.Wait()
	return true
}
