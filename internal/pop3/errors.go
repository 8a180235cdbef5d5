package pop3

import (
	"errors"
	"strings"
	"unicode"

	"mailtokens/internal/advice"
)

// Response codes (RFC 2449 section 8, RFC 3206) a server may put in
// brackets at the start of a -ERR text. Gmail sends them; Exchange Online
// does not advertise RESP-CODES and sends plain text.
const (
	// CodeInUse: the maildrop is locked by another session; try later.
	CodeInUse = "IN-USE"
	// CodeLoginDelay: logged in too soon after the last session.
	CodeLoginDelay = "LOGIN-DELAY"
	// CodeSysTemp: a temporary problem on the server's side.
	CodeSysTemp = "SYS/TEMP"
	// CodeSysPerm: a lasting problem on the server's side (for example POP
	// access switched off for the account) that needs a person to act.
	CodeSysPerm = "SYS/PERM"
	// CodeAuth: the credentials were rejected.
	CodeAuth = "AUTH"
)

// Error is a -ERR reply.
type Error struct {
	// Command is the command that got the reply, as sent but without
	// secrets: "RETR 3", "PASS", "AUTH XOAUTH2"; "greeting" when the server
	// refused the connection.
	Command string
	// Message is the server's text after "-ERR ", response code included,
	// exactly as the server said it.
	Message string
	// Code is the RFC 2449 response code without brackets, upper-cased
	// ("IN-USE", "AUTH", "SYS/TEMP"), or "" if the text has none.
	Code string
}

func newError(command, text string) *Error {
	return &Error{Command: command, Message: text, Code: parseCode(text)}
}

// Error quotes the server. Control characters are replaced so that a hostile
// server cannot write escape sequences into a log or a terminal.
func (e *Error) Error() string {
	msg := "-ERR"
	if e.Message != "" {
		msg += " " + e.Message
	}
	return "pop3 " + e.Command + ": " + printable(msg)
}

// Temporary reports whether the reply says to try again later: the maildrop
// is in use, the login came too soon, or the server has a passing problem.
// A worker keeps its token and retries; it does not ask for a new login.
func (e *Error) Temporary() bool {
	switch e.Code {
	case CodeInUse, CodeLoginDelay, CodeSysTemp:
		return true
	}
	return strings.HasPrefix(e.Code, CodeSysTemp+"/")
}

// Advice: a reply that says to try later is Temporary; otherwise the
// command's context (a login, a retrieval) decides.
func (e *Error) Advice() (string, advice.Kind) {
	if e.Temporary() {
		return "", advice.Temporary
	}
	return "", advice.Unknown
}

// ErrMalformed is wrapped by errors about server replies that do not follow
// the protocol.
var ErrMalformed = errors.New("malformed reply")

// ErrSTLSNotOffered is returned by StartTLS when the server does not list
// STLS in its capabilities; nothing has been sent.
var ErrSTLSNotOffered = errors.New("pop3: server does not offer STLS")

// ErrClosed is returned by calls on a Client after Close or Quit.
var ErrClosed = errors.New("pop3: client closed")

// ErrBodyOpen is returned by commands issued while the body of the last
// RETR or TOP has been neither read to the end nor closed: the server is
// still sending it, so no other reply can be read.
var ErrBodyOpen = errors.New("pop3: the last RETR or TOP body is still open; read it to the end or close it")

// printable replaces control characters and invalid UTF-8 with "?".
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(s, "?"))
}

// quote shortens a line from the server for an error message.
func quote(line string) string {
	const max = 80
	if len(line) > max {
		line = line[:max] + "..."
	}
	return `"` + printable(line) + `"`
}
