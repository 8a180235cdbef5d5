package mailconn

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"net"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

var sprintf = fmt.Sprintf

const hidden = "[credentials hidden]"

var (
	// Commands that carry credentials: everything after the mechanism or
	// user name goes.
	authCmdRE = regexp.MustCompile(`(?i)^(\S+ AUTHENTICATE \S+|AUTH \S+|\S+ LOGIN|PASS)\b.*$`)
	base64RE  = regexp.MustCompile(`^[A-Za-z0-9+/]{16,}={0,2}$`)
)

// maskServer is mask for a line the server sent: a server sends no
// credentials, so a capability such as ENHANCEDSTATUSCODES or
// "AUTH LOGIN XOAUTH2" stays readable; a JSON failure challenge is decoded.
func maskServer(line string) string { return maskLine(line, true) }

// mask hides credentials in one protocol line a client sent (or whose
// direction is unknown), and decodes a server's JSON failure challenge so
// a person can read it.
func mask(line string) string { return maskLine(line, false) }

func maskLine(line string, fromServer bool) string {
	if m := authCmdRE.FindStringSubmatch(line); m != nil && !fromServer {
		if m[1] == line {
			return line
		}
		return m[1] + " " + hidden
	}
	// A base64 line on its own is a SASL response (credentials) or, with
	// a "+ " or "334 " in front, a challenge.
	prefix, rest := "", strings.TrimSpace(line)
	for _, p := range []string{"+ ", "334 "} {
		if strings.HasPrefix(rest, p) {
			prefix, rest = p, strings.TrimSpace(rest[len(p):])
		}
	}
	if base64RE.MatchString(rest) {
		if dec, err := base64.StdEncoding.DecodeString(rest); err == nil && bytes.HasPrefix(bytes.TrimSpace(dec), []byte("{")) && utf8.Valid(dec) {
			return prefix + rest + "   (decoded: " + string(bytes.TrimSpace(dec)) + ")"
		}
		if !fromServer {
			return prefix + hidden
		}
	}
	if len(line) > 400 {
		return line[:400] + "…"
	}
	return line
}

// lineWriter turns a byte stream into masked lines.
type lineWriter struct {
	mu     sync.Mutex
	buf    []byte
	prefix string
	emit   func(string)
	lines  int
	mask   func(string) string // nil: mask
}

const maxTranscriptLines = 300

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			break
		}
		line := strings.TrimRight(string(w.buf[:i]), "\r")
		w.buf = w.buf[i+1:]
		if w.lines < maxTranscriptLines {
			m := mask
			if w.mask != nil {
				m = w.mask
			}
			w.emit(w.prefix + m(line))
		} else if w.lines == maxTranscriptLines {
			w.emit("…")
		}
		w.lines++
	}
	// A literal (a message body) without line ends must not grow forever.
	if len(w.buf) > 4096 {
		w.buf = w.buf[:0]
	}
	return len(p), nil
}

// recordConn records what crosses conn, "S: " for reads and "C: " for
// writes.
func recordConn(conn net.Conn, emit func(string)) *recordingConn {
	var mu sync.Mutex
	safe := func(s string) {
		mu.Lock()
		defer mu.Unlock()
		emit(s)
	}
	return &recordingConn{Conn: conn, in: &lineWriter{prefix: "S: ", emit: safe, mask: maskServer}, out: &lineWriter{prefix: "C: ", emit: safe}}
}

type recordingConn struct {
	net.Conn
	in, out *lineWriter
	stopped atomic.Bool
}

// stop ends the recording: after STARTTLS only ciphertext crosses the raw
// connection.
func (c *recordingConn) stop(note string) {
	if c.stopped.CompareAndSwap(false, true) {
		c.in.emit(note)
	}
}

// over goes on recording on conn, after a note: the connection that
// carries the conversation once we upgraded it with STARTTLS ourselves.
func (c *recordingConn) over(conn net.Conn, note string) *recordingConn {
	c.in.emit(note)
	return &recordingConn{Conn: conn, in: c.in, out: c.out}
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if !c.stopped.Load() {
		c.in.Write(p[:n])
	}
	return n, err
}

// Write records what the client sends before sending it: recorded after,
// the server's reply (read at once by another goroutine) could come first.
func (c *recordingConn) Write(p []byte) (int, error) {
	if !c.stopped.Load() {
		c.out.Write(p)
	}
	return c.Conn.Write(p)
}
