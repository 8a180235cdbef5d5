// Package pop3 is the POP3 client the inbound worker receives mail with
// (RFC 1939, with CAPA and response codes from RFC 2449, STLS from RFC 2595,
// AUTH from RFC 5034 and the [AUTH]/[SYS/...] codes of RFC 3206).
//
// It exists because github.com/knadh/go-pop3 v1.0.0, the only version the
// module proxy serves, corrupts messages: it does not undo dot-stuffing, so a
// body line ".hidden" arrives as "..hidden"; it reads with bufio's ReadLine
// and ignores isPrefix, so a line longer than 4096 bytes is cut in two with a
// CRLF in between; and it buffers each message whole in memory.
// TestWhyNotKnadhGoPOP3 shows all of it against the sandbox server.
//
// Here a message body is a stream (Retr returns an io.ReadCloser over a
// dot reader of our own, dot.go), which undoes dot-stuffing, has no line
// length limit and never holds more than a buffer of the message. It also
// turns the wire's CRLF line endings into "\n", the local form that maildir
// files and delivery programs expect. (net/textproto's DotReader, used
// before, misreads a line that follows an empty bare-LF line.)
//
// Every exchange with the server runs under an idle timeout: each read and
// each write must make progress within the Client's timeout, so a server
// that stops answering makes the call fail instead of hang, while a large
// message that keeps flowing is never cut off. After an I/O error, a timeout
// or a reply that makes no sense the connection is out of step with the
// server, and every later call returns that first error.
//
// Everything else the server sends is bounded: a reply line by
// MaxLineLength, a listing (CAPA, UIDL, LIST) by MaxListingLines and
// MaxListingBytes. A server past them is broken or hostile; the connection
// fails with ErrTooLong instead of filling memory.
//
// Passwords and tokens never appear in errors: a failed PASS is reported as
// "PASS", a failed login as "AUTH <mechanism>".
package pop3
