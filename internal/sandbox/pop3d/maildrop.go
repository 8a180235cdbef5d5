package pop3d

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"slices"
	"strings"

	"mailtokens/internal/provider"
)

// Message is a message held by the Server.
type Message struct {
	// UID is the message's unique id, as UIDL lists it. It never changes.
	UID string
	// Data is the message as it was given to Add.
	Data []byte
}

type message struct {
	uid  string
	data []byte // as added
	// wire is the message with CRLF line endings, ending in CRLF: what
	// RETR sends before dot-stuffing, and what LIST and STAT count.
	wire []byte
}

// maildrop is one mailbox's messages. While a session holds the lock the
// session works on its own snapshot of msgs (RFC 1939: message numbers do
// not change during a session), and mail added meanwhile waits for the
// next session.
type maildrop struct {
	msgs   []*message
	locked bool
}

// norm is how mailbox names are compared, as mailauth compares them.
func norm(mailbox string) string { return strings.ToLower(strings.TrimSpace(mailbox)) }

// Add puts a message into mailbox and returns its UID. The message may use
// CRLF or bare LF line endings; it is sent with CRLF.
func (s *Server) Add(mailbox string, msg []byte) (uid string) {
	m := &message{uid: s.newUID(), data: bytes.Clone(msg), wire: wireForm(msg)}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drop(norm(mailbox))
	d.msgs = append(d.msgs, m)
	return m.uid
}

// Messages returns what mailbox holds now: everything added and not yet
// removed by a session that ended with QUIT.
func (s *Server) Messages(mailbox string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.boxes[norm(mailbox)]
	if d == nil {
		return nil
	}
	out := make([]Message, len(d.msgs))
	for i, m := range d.msgs {
		out[i] = Message{UID: m.uid, Data: bytes.Clone(m.data)}
	}
	return out
}

// drop returns the maildrop called name, creating it. s.mu must be held.
func (s *Server) drop(name string) *maildrop {
	d := s.boxes[name]
	if d == nil {
		d = &maildrop{}
		s.boxes[name] = d
	}
	return d
}

// lock gives a session the maildrop and a snapshot of its messages, or
// false if another session has it.
func (s *Server) lock(name string) ([]*message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drop(name)
	if d.locked {
		return nil, false
	}
	d.locked = true
	return slices.Clone(d.msgs), true
}

// unlock releases a maildrop and, for a session that ended with QUIT,
// removes the messages it deleted (the UPDATE state).
func (s *Server) unlock(name string, deleted []*message) {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.drop(name)
	d.locked = false
	if len(deleted) == 0 {
		return
	}
	d.msgs = slices.DeleteFunc(d.msgs, func(m *message) bool { return slices.Contains(deleted, m) })
	s.mailboxStats(name).Deleted += len(deleted)
}

// newUID makes a unique id that looks like the service's: Gmail's
// "GmailId" and hex, Exchange's long base64.
func (s *Server) newUID() string {
	b := make([]byte, 24)
	_, _ = rand.Read(b)
	if s.opt.Style == provider.Google {
		return "GmailId" + hex.EncodeToString(b[:8])
	}
	return "AAQkAD" + base64.RawURLEncoding.EncodeToString(b)
}

// wireForm gives msg CRLF line endings and a final CRLF, so that the
// terminating "." always starts a line of its own.
func wireForm(msg []byte) []byte {
	out := make([]byte, 0, len(msg)+len(msg)/16+2)
	for len(msg) > 0 {
		i := bytes.IndexByte(msg, '\n')
		if i < 0 {
			out = append(out, msg...)
			break
		}
		line := msg[:i]
		msg = msg[i+1:]
		out = append(out, line...)
		if !bytes.HasSuffix(line, []byte("\r")) {
			out = append(out, '\r')
		}
		out = append(out, '\n')
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\r\n")) {
		out = append(out, "\r\n"...)
	}
	return out
}

// writeDotStuffed sends wire as a multi-line reply body: a line that starts
// with "." gets another in front (RFC 1939 section 3), and "." alone ends
// it.
func writeDotStuffed(w *bufio.Writer, wire []byte) error {
	for len(wire) > 0 {
		i := bytes.IndexByte(wire, '\n')
		line := wire
		if i >= 0 {
			line = wire[:i+1]
		}
		wire = wire[len(line):]
		if line[0] == '.' {
			if err := w.WriteByte('.'); err != nil {
				return err
			}
		}
		if _, err := w.Write(line); err != nil {
			return err
		}
	}
	_, err := w.WriteString(".\r\n")
	return err
}

// topOf returns the headers of wire, the blank line after them and the
// first n lines of the body (TOP).
func topOf(wire []byte, n int) []byte {
	end := bytes.Index(wire, []byte("\r\n\r\n"))
	if end < 0 {
		return wire // headers only
	}
	end += 4
	body := wire[end:]
	for ; n > 0 && len(body) > 0; n-- {
		i := bytes.IndexByte(body, '\n')
		if i < 0 {
			body = nil
			break
		}
		body = body[i+1:]
	}
	return wire[:len(wire)-len(body)]
}
