package idp

import (
	"net/http"
	"strings"
	"time"
)

// Faults make the sandbox fail the way networks and overloaded identity
// providers do, so that client code can show it tells a transient failure
// (retry later, keep the token) from a permanent one (invalid_grant).

// FaultKind is the kind of failure to inject.
type FaultKind int

// Fault kinds.
const (
	FaultNone FaultKind = iota
	// FaultStatus500 answers 500 with an HTML error page, as a gateway in
	// front of an identity provider does: the body is not OAuth JSON.
	FaultStatus500
	// FaultSlow waits Delay before handling the request normally. If the
	// client gives up first, the request is dropped unprocessed.
	FaultSlow
	// FaultMalformedJSON answers 200 with a JSON body cut off mid-way.
	FaultMalformedJSON
	// FaultDropConnection closes the connection without answering and
	// without processing the request.
	FaultDropConnection
	// FaultStatus503 answers 503 with a JSON temporarily_unavailable error
	// and Retry-After.
	FaultStatus503
	// FaultLoseResponse processes the request (a refresh really happens, a
	// rotated refresh token really is spent) and then closes the connection
	// instead of answering: the worst case for a client that must not lose
	// a rotated refresh token.
	FaultLoseResponse
)

// Fault is one injected failure.
type Fault struct {
	Kind  FaultKind
	Delay time.Duration // FaultSlow
	Times int           // how many requests to fail; 0 = until ClearFaults
	// Path matches the end of the request path, e.g. "/token",
	// "/devicecode", "/introspect". Empty matches every token endpoint.
	Path string
}

// InjectFault adds a fault. Faults are tried in the order they were added;
// the first that matches a request applies.
func (s *Server) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ff := f
	s.faults = append(s.faults, &ff)
}

// ClearFaults removes every fault.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

func isTokenEndpoint(path string) bool {
	return strings.HasSuffix(path, "/oauth2/v2.0/token") || path == "/google/token" || path == stdPath+"/token"
}

// takeFault returns the fault that applies to a request to path, counting
// it against its Times.
func (s *Server) takeFault(path string) Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		match := (f.Path == "" && isTokenEndpoint(path)) || (f.Path != "" && strings.HasSuffix(path, f.Path))
		if !match {
			continue
		}
		got := *f
		if f.Times > 0 {
			f.Times--
			if f.Times == 0 {
				s.faults = append(s.faults[:i:i], s.faults[i+1:]...)
			}
		}
		return got
	}
	return Fault{}
}

// serveWithFaults applies an injected fault, if one matches, around next.
func (s *Server) serveWithFaults(w http.ResponseWriter, r *http.Request, next http.Handler) {
	f := s.takeFault(r.URL.Path)
	switch f.Kind {
	case FaultStatus500:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("<!DOCTYPE html>\n<html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1><p>The server encountered an internal error and was unable to complete your request. (sandbox fault)</p></body></html>\n"))
	case FaultStatus503:
		w.Header().Set("Retry-After", "1")
		writeJSON(w, http.StatusServiceUnavailable, googleErrorBody{Error: "temporarily_unavailable", Description: "The server is temporarily unable to handle the request. (sandbox fault)"})
	case FaultSlow:
		if s.waitOrDone(r.Context(), f.Delay) {
			next.ServeHTTP(w, r)
		}
	case FaultMalformedJSON:
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(`{"token_type":"Bearer","expires_in":3599,"access_token":"eyJ0eXAiOiJKV1QiLCJub25jZSI6`))
	case FaultDropConnection:
		dropConnection(w)
	case FaultLoseResponse:
		next.ServeHTTP(discardWriter{h: http.Header{}}, r)
		dropConnection(w)
	default:
		next.ServeHTTP(w, r)
	}
}

// dropConnection closes the client's connection without a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		// Not hijackable (HTTP/2): abort, which resets the stream.
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

// discardWriter swallows a response that FaultLoseResponse will never send.
type discardWriter struct{ h http.Header }

func (d discardWriter) Header() http.Header         { return d.h }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
