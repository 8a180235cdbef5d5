package mailauth

import (
	"net"
	"strings"
	"sync"

	"github.com/emersion/go-sasl"
)

// AnswerWatch follows one connection's conversation, as a library server's
// debug writer sees it (what the server writes and what it reads from the
// client, in order), and notes when the client answered a continuation
// (IMAP "+ …", SMTP "334 …") with a line of exactly "=".
//
// The sandbox needs it because go-imap's and go-smtp's servers decode "="
// as the empty answer before the SASL mechanism sees it, while Gmail
// refuses it: RFC 4959 and 4954 give "=" a meaning only as the initial
// response on the command line. A connection wrapper could not do it: both
// libraries run STARTTLS themselves, beneath which only ciphertext
// passes. A SASL exchange is lockstep — the server waits for the answer —
// so the line after a continuation in the shared stream is the client's.
type AnswerWatch struct {
	cont string // what a continuation line is or starts with, then a space

	mu        sync.Mutex
	line      []byte // the start of the current line
	long      bool   // the current line is longer than line holds
	afterCont bool   // the last line was a continuation: this one answers it
	equals    bool   // the last line was "=" answering a continuation
}

// NewAnswerWatch watches for continuation lines that are cont or start
// with cont and a space: "+" for IMAP, "334" for SMTP.
func NewAnswerWatch(cont string) *AnswerWatch { return &AnswerWatch{cont: cont} }

// lineStart is how much of a line the watch keeps: enough for "334 " and
// "=\r".
const lineStart = 8

// Write takes the next bytes of the conversation; it never fails.
func (w *AnswerWatch) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, b := range p {
		if b != '\n' {
			if len(w.line) < lineStart {
				w.line = append(w.line, b)
			} else {
				w.long = true
			}
			continue
		}
		line := strings.TrimSuffix(string(w.line), "\r")
		w.equals = w.afterCont && !w.long && line == "="
		w.afterCont = line == w.cont || strings.HasPrefix(line, w.cont+" ")
		w.line, w.long = w.line[:0], false
	}
	return len(p), nil
}

// Guard wraps a SASL server mechanism so that an answer of "=" to any of
// its challenges ends the exchange with refusal (the service's words for a
// message it cannot decode) instead of reaching the mechanism as empty.
func (w *AnswerWatch) Guard(s sasl.Server, refusal error) sasl.Server {
	return guarded{Server: s, w: w, refusal: refusal}
}

type guarded struct {
	sasl.Server
	w       *AnswerWatch
	refusal error
}

func (g guarded) Next(response []byte) ([]byte, bool, error) {
	g.w.mu.Lock()
	equals := g.w.equals
	g.w.equals = false
	g.w.mu.Unlock()
	if equals {
		return nil, true, g.refusal
	}
	return g.Server.Next(response)
}

// ServeEach is a serve function for [Listeners.Listen] that gives every
// connection accepted to a library server of its own, from newServer: one
// whose options (a debug writer: see [AnswerWatch]) belong to that
// connection. The library's server sees a listener that hands it the one
// connection and then reports itself closed, so its Serve returns while
// the connection goes on.
func ServeEach(newServer func() func(net.Listener) error) func(net.Listener) error {
	return func(ln net.Listener) error {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return err
			}
			go newServer()(&oneConn{Listener: ln, conn: conn})
		}
	}
}

// oneConn is a listener that accepts conn once.
type oneConn struct {
	net.Listener // for Addr
	mu           sync.Mutex
	conn         net.Conn
}

func (l *oneConn) Accept() (net.Conn, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	c := l.conn
	if c == nil {
		return nil, net.ErrClosed
	}
	l.conn = nil
	return c, nil
}

// Close leaves the shared listener open.
func (l *oneConn) Close() error { return nil }
