// Package httpserve is what the sandbox's HTTP mail APIs (graphd, gmaild)
// share around their handlers: serving on a free loopback port, over TLS
// when asked, the Retry-After header of their throttling answers, and the
// queue of injected faults they answer before routing. Each API keeps its
// own routes and its own wording of errors.
package httpserve

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Server serves one handler on a free port; the zero value is not
// listening yet.
type Server struct {
	mu  sync.Mutex
	srv *http.Server
	url string
}

// Listen starts serving h on a free port of host (127.0.0.1 when empty),
// over HTTPS when cfg is set, and returns the base URL. name ("graphd")
// prefixes its errors. A Server listens once.
func (s *Server) Listen(name, host string, cfg *tls.Config, h http.Handler) (string, error) {
	if host == "" {
		host = "127.0.0.1"
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("%s: listen: %w", name, err)
	}
	scheme := "http"
	if cfg != nil {
		ln = tls.NewListener(ln, cfg)
		scheme = "https"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		ln.Close()
		return "", errors.New(name + ": already listening")
	}
	s.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	s.url = scheme + "://" + ln.Addr().String()
	srv := s.srv
	go func() { _ = srv.Serve(ln) }()
	return s.url, nil
}

// URL is the base URL Listen returned ("" before).
func (s *Server) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.url
}

// Listening reports whether Listen has started the server.
func (s *Server) Listening() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.srv != nil
}

// Close stops the server and drops its connections; before Listen it does
// nothing.
func (s *Server) Close() error {
	s.mu.Lock()
	srv := s.srv
	s.mu.Unlock()
	if srv == nil {
		return nil
	}
	return srv.Close()
}

// SetRetryAfter sets h's Retry-After to d in whole seconds, rounded up so
// that a client waiting that long is not refused again; none when d is
// zero.
func SetRetryAfter(h http.Header, d time.Duration) {
	if d > 0 {
		h.Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

// Faults are the answers injected for the next requests (InjectFaults of
// an API), first first; the zero value is empty and ready.
type Faults[E any] struct {
	mu    sync.Mutex
	queue []E
}

// Add queues e for the next n requests.
func (f *Faults[E]) Add(n int, e E) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for range n {
		f.queue = append(f.queue, e)
	}
}

// Next takes the answer for this request, if one is queued.
func (f *Faults[E]) Next() (e E, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.queue) == 0 {
		return e, false
	}
	e = f.queue[0]
	f.queue = f.queue[1:]
	return e, true
}
