package mailconn

import (
	"fmt"

	"mailtokens/internal/advice"
)

// MaxIMAPReply is the most an IMAP server may send in one reply, outside
// the message bodies being streamed: a line, with any literals that end a
// line and the lines that follow them. go-imap holds a reply in memory
// (text, strings, literals other than the bodies we stream, SEARCH
// results) and sets no limit, so one endless line would take the
// worker's memory. No real server comes near: a SEARCH naming a million
// UIDs is under 8 MiB.
const MaxIMAPReply = 8 << 20

// replyLimit follows the bytes an IMAP server sends and fails when one
// reply grows past max. A reply ends at a line end that does not follow a
// literal's announcement ("{123}"). It is deliberately loose about where a
// literal begins: taking an announcement for one can only make a reply
// seem longer, never let one grow unchecked.
type replyLimit struct {
	max    int
	n      int   // bytes of the current reply so far
	exempt int64 // bytes still to come of a message body being streamed
	brace  int8  // where in "{digits}\r\n" the line's end is
}

// Brace states: after '{', after one or more digits, after a '+' that
// follows them, after '}', after "}\r".
const (
	braceNone int8 = iota
	braceOpen
	braceDigits
	bracePlus
	braceClose
	braceCR
)

// scan takes the next bytes from the server.
func (l *replyLimit) scan(p []byte) error {
	if l.exempt > 0 {
		skip := int(min(l.exempt, int64(len(p))))
		l.exempt -= int64(skip)
		p = p[skip:]
	}
	for _, b := range p {
		l.n++
		if b == '\n' {
			if l.brace != braceClose && l.brace != braceCR {
				l.n = 0 // the reply ended
			}
			l.brace = braceNone
			continue
		}
		switch {
		case b == '{':
			l.brace = braceOpen
		case b >= '0' && b <= '9' && (l.brace == braceOpen || l.brace == braceDigits):
			l.brace = braceDigits
		case b == '+' && l.brace == braceDigits:
			l.brace = bracePlus
		case b == '}' && (l.brace == braceDigits || l.brace == bracePlus):
			l.brace = braceClose
		case b == '\r' && l.brace == braceClose:
			l.brace = braceCR
		default:
			l.brace = braceNone
		}
		if l.n > l.max {
			return &ReplyTooLongError{Max: l.max}
		}
	}
	return nil
}

// stream exempts the next size bytes: a message body that the caller
// streams to its destination, never holding it in memory.
func (l *replyLimit) stream(size int64) { l.exempt = max(size, 0) }

// ReplyTooLongError is an IMAP reply past MaxIMAPReply: the connection
// was closed before it could take the worker's memory.
type ReplyTooLongError struct{ Max int }

func (e *ReplyTooLongError) Error() string {
	return fmt.Sprintf("the server sent a reply longer than %d bytes (outside message bodies): connection closed", e.Max)
}

// Advice: no real server sends such a reply; it is retried later, and a
// server that keeps doing it is broken or not the one meant.
func (e *ReplyTooLongError) Advice() (string, advice.Kind) {
	return "No real IMAP server sends a reply this large: the worker closed the connection and tries again later. If it repeats, check MAILBOX_HOST and MAILBOX_PORT (is this the mail server you mean?) and tell its admins.", advice.Temporary
}
