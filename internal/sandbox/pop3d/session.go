package pop3d

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"time"

	"mailtokens/internal/sandbox/mailauth"
)

// state is the RFC 1939 session state. UPDATE is not a state a session
// waits in: QUIT in TRANSACTION commits and ends the session at once.
type state int

const (
	authorization state = iota
	transaction
)

// maxLine bounds a client line. RFC 2449 allows 255 octets for commands,
// but an AUTH line or response carrying a JWT runs to a few kilobytes (see
// go-smtp's MaxLineLength in docs/providers.md), so this is generous.
const maxLine = 64 << 10

// handshakeTimeout bounds a TLS handshake, so that a client that connects
// and says nothing does not hold a session forever before TLS.
const handshakeTimeout = 30 * time.Second

var (
	// errEnd ends a session on purpose (QUIT, a dropped RETR, a protocol
	// error after which the service closes the connection).
	errEnd         = errors.New("session ended")
	errLineTooLong = errors.New("line too long")
)

type session struct {
	srv      *Server
	t        *texts
	mode     mailauth.Mode
	conn     net.Conn // the current transport: TLS after STLS
	r        *bufio.Reader
	w        *bufio.Writer
	isTLS    bool
	remoteIP string
	log      *slog.Logger

	state   state
	user    string     // from USER, waiting for PASS
	box     string     // the locked maildrop, by normalised name
	msgs    []*message // the snapshot taken at login, numbered from 1
	deleted []bool
}

func newSession(s *Server, conn net.Conn, mode mailauth.Mode) *session {
	ip, _, _ := net.SplitHostPort(conn.RemoteAddr().String())
	ss := &session{
		srv: s, t: s.texts, mode: mode, remoteIP: ip,
		log: s.log.With("remote", conn.RemoteAddr().String(), "mode", mode.String()),
	}
	ss.setConn(conn)
	return ss
}

// setConn starts reading and writing on conn. Switching to TLS throws away
// anything the client sent before the handshake (RFC 2595 section 4: no
// plain-text command may be carried into the TLS session).
func (ss *session) setConn(conn net.Conn) {
	ss.conn = conn
	ss.r = bufio.NewReaderSize(conn, maxLine)
	ss.w = bufio.NewWriter(conn)
}

func (ss *session) run() {
	defer ss.release(false)
	if ss.mode == mailauth.ImplicitTLS {
		if !ss.handshake() {
			return
		}
	}
	if ss.srv.hangsOn("") {
		ss.hang()
		return
	}
	if ss.ok(ss.t.greeting(ss.remoteIP)) != nil {
		return
	}
	for {
		line, err := ss.readLine()
		if errors.Is(err, errLineTooLong) {
			_ = ss.fail(ss.t.lineTooLong)
			return
		}
		if err != nil {
			return // the client is gone
		}
		cmd, err := parseCommand(line)
		if err != nil {
			if ss.fail(ss.t.unknownCommand) != nil {
				return
			}
			continue
		}
		if ss.srv.hangsOn(cmd.verb) {
			ss.hang()
			return
		}
		if err := ss.dispatch(cmd); err != nil {
			if !errors.Is(err, errEnd) {
				ss.log.Debug("session ended", "err", err)
			}
			return
		}
	}
}

func (ss *session) handshake() bool {
	tc := tls.Server(ss.conn, ss.srv.opt.TLS)
	_ = ss.conn.SetDeadline(time.Now().Add(handshakeTimeout))
	err := tc.Handshake()
	_ = ss.conn.SetDeadline(time.Time{})
	if err != nil {
		ss.log.Info("TLS handshake failed", "err", err)
		return false
	}
	ss.setConn(tc)
	ss.isTLS = true
	return true
}

// hang stops answering: it swallows input until the client leaves or the
// Server closes the connection.
func (ss *session) hang() {
	ss.log.Info("hanging on purpose (HangOn)")
	_, _ = io.Copy(io.Discard, ss.conn)
}

// release unlocks the maildrop, removing the deleted messages when the
// session ended with QUIT.
func (ss *session) release(commit bool) {
	if ss.box == "" {
		return
	}
	var gone []*message
	if commit {
		for i, m := range ss.msgs {
			if ss.deleted[i] {
				gone = append(gone, m)
			}
		}
	}
	ss.srv.unlock(ss.box, gone)
	ss.log.Info("maildrop released", "mailbox", ss.box, "committed", commit, "deleted", len(gone))
	ss.box = ""
}

func (ss *session) readLine() (string, error) {
	line, err := ss.r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errLineTooLong
	}
	if err != nil {
		return "", err
	}
	line = bytes.TrimSuffix(line[:len(line)-1], []byte("\r"))
	return string(line), nil
}

// reply sends one line, after the Slow delay.
func (ss *session) reply(line string) error {
	ss.srv.wait(ss.srv.slowness())
	ss.w.WriteString(line)
	ss.w.WriteString("\r\n")
	return ss.w.Flush()
}

func (ss *session) ok(text string) error {
	if text == "" {
		return ss.reply("+OK")
	}
	return ss.reply("+OK " + text)
}

func (ss *session) fail(text string) error {
	if text == "" {
		return ss.reply("-ERR")
	}
	return ss.reply("-ERR " + text)
}

// multiline sends +OK text, the lines dot-stuffed, and the final ".".
func (ss *session) multiline(text string, lines []string) error {
	var body bytes.Buffer
	for _, l := range lines {
		body.WriteString(l)
		body.WriteString("\r\n")
	}
	return ss.okBody(text, body.Bytes())
}

// okBody sends +OK text, then wire dot-stuffed and terminated.
func (ss *session) okBody(text string, wire []byte) error {
	ss.srv.wait(ss.srv.slowness())
	ss.w.WriteString("+OK")
	if text != "" {
		ss.w.WriteString(" " + text)
	}
	ss.w.WriteString("\r\n")
	if err := writeDotStuffed(ss.w, wire); err != nil {
		return err
	}
	return ss.w.Flush()
}

func (ss *session) dispatch(c command) error {
	switch c.verb {
	case "PASS", "AUTH":
		ss.log.Debug("command", "verb", c.verb) // arguments hold secrets
	default:
		ss.log.Debug("command", "verb", c.verb, "args", c.args)
	}
	switch c.verb {
	case "CAPA":
		return ss.capa()
	case "QUIT":
		return ss.quit()
	}
	if ss.state == authorization {
		switch c.verb {
		case "USER":
			return ss.userCmd(c)
		case "PASS":
			return ss.passCmd(c)
		case "AUTH":
			return ss.authCmd(c)
		case "STLS":
			return ss.stls()
		case "STAT", "LIST", "UIDL", "RETR", "TOP", "DELE", "NOOP", "RSET":
			return ss.fail(ss.t.wrongState)
		}
		return ss.fail(ss.t.unknownCommand)
	}
	switch c.verb {
	case "STAT":
		return ss.stat(c)
	case "LIST":
		return ss.listing(c, func(m *message) string { return strconv.Itoa(len(m.wire)) })
	case "UIDL":
		return ss.listing(c, func(m *message) string { return m.uid })
	case "RETR":
		return ss.retr(c)
	case "TOP":
		return ss.top(c)
	case "DELE":
		return ss.dele(c)
	case "NOOP":
		if len(c.args) != 0 {
			return ss.fail(ss.t.unknownCommand)
		}
		return ss.ok(ss.t.okay)
	case "RSET":
		if len(c.args) != 0 {
			return ss.fail(ss.t.unknownCommand)
		}
		clear(ss.deleted)
		return ss.ok(ss.t.okay)
	case "USER", "PASS", "AUTH", "STLS", "APOP":
		return ss.fail(ss.t.wrongState)
	}
	return ss.fail(ss.t.unknownCommand)
}

// tlsFirst reports whether logins must wait for STLS.
func (ss *session) tlsFirst() bool { return ss.mode == mailauth.RequireStartTLS && !ss.isTLS }

func (ss *session) capa() error {
	var lines []string
	for _, c := range ss.t.capa {
		if c.stls && (!offersSTLS(ss.mode) || ss.isTLS || ss.state != authorization) {
			continue
		}
		if c.login && ss.tlsFirst() {
			continue
		}
		lines = append(lines, c.line)
	}
	return ss.multiline(ss.t.capaOK, lines)
}

func (ss *session) stls() error {
	if !offersSTLS(ss.mode) || ss.isTLS {
		return ss.fail(ss.t.wrongState)
	}
	if err := ss.ok(ss.t.stlsOK); err != nil {
		return err
	}
	if !ss.handshake() {
		return errEnd
	}
	ss.user = ""
	return nil
}

func (ss *session) quit() error {
	ss.release(ss.state == transaction)
	_ = ss.ok(ss.t.quit)
	return errEnd
}

// pick finds the message an argument names. It returns the reply text for
// a bad number or a deleted message.
func (ss *session) pick(arg string) (int, string) {
	n, ok := msgNumber(arg)
	if !ok || n > len(ss.msgs) {
		return 0, ss.t.noSuchMessage(n)
	}
	if ss.deleted[n-1] {
		return 0, ss.t.alreadyDeleted(n)
	}
	return n - 1, ""
}

func (ss *session) stat(c command) error {
	if len(c.args) != 0 {
		return ss.fail(ss.t.unknownCommand)
	}
	count, size := ss.totals()
	return ss.ok(ss.t.stat(count, size))
}

func (ss *session) totals() (count int, size int64) {
	for i, m := range ss.msgs {
		if !ss.deleted[i] {
			count++
			size += int64(len(m.wire))
		}
	}
	return count, size
}

// listing answers LIST and UIDL, whose only difference is the value after
// the message number.
func (ss *session) listing(c command, value func(*message) string) error {
	switch len(c.args) {
	case 0:
		var lines []string
		for i, m := range ss.msgs {
			if !ss.deleted[i] {
				lines = append(lines, strconv.Itoa(i+1)+" "+value(m))
			}
		}
		text := ss.t.uidlOK
		if c.verb == "LIST" {
			count, size := ss.totals()
			text = ss.t.listOK(count, size)
		}
		return ss.multiline(text, lines)
	case 1:
		i, bad := ss.pick(c.args[0])
		if bad != "" {
			return ss.fail(bad)
		}
		return ss.ok(strconv.Itoa(i+1) + " " + value(ss.msgs[i]))
	}
	return ss.fail(ss.t.unknownCommand)
}

func (ss *session) retr(c command) error {
	if len(c.args) != 1 {
		return ss.fail(ss.t.unknownCommand)
	}
	i, bad := ss.pick(c.args[0])
	if bad != "" {
		return ss.fail(bad)
	}
	ss.srv.count(ss.box, func(st *MailboxStats) { st.Retrs++ })
	m := ss.msgs[i]
	if cut, offset := ss.srv.dropThisRetr(); cut {
		return ss.dropMidway(m.wire, offset)
	}
	return ss.okBody(ss.t.retrOK, m.wire)
}

// dropMidway sends the first offset bytes of the RETR reply (negative:
// the +OK and half the message), then ends the session (DropAt).
func (ss *session) dropMidway(wire []byte, offset int) error {
	ss.log.Info("dropping the connection in the middle of RETR (DropAt)", "offset", offset)
	head := "+OK"
	if ss.t.retrOK != "" {
		head += " " + ss.t.retrOK
	}
	head += "\r\n"
	if offset < 0 {
		offset = len(head) + len(wire)/2
	}
	cut := &cutWriter{w: ss.conn, left: offset}
	w := bufio.NewWriter(cut)
	w.WriteString(head)
	_ = writeDotStuffed(w, wire)
	_ = w.Flush()
	return errEnd
}

// cutWriter passes on left bytes and then fails.
type cutWriter struct {
	w    io.Writer
	left int
}

func (c *cutWriter) Write(p []byte) (int, error) {
	if len(p) > c.left {
		n, _ := c.w.Write(p[:c.left])
		c.left -= n
		return n, errEnd
	}
	n, err := c.w.Write(p)
	c.left -= n
	return n, err
}

func (ss *session) top(c command) error {
	if len(c.args) != 2 {
		return ss.fail(ss.t.unknownCommand)
	}
	i, bad := ss.pick(c.args[0])
	if bad != "" {
		return ss.fail(bad)
	}
	n, err := strconv.Atoi(c.args[1])
	if err != nil || n < 0 || strings.TrimLeft(c.args[1], "0123456789") != "" {
		return ss.fail(ss.t.unknownCommand)
	}
	ss.srv.count(ss.box, func(st *MailboxStats) { st.Tops++ })
	return ss.okBody(ss.t.retrOK, topOf(ss.msgs[i].wire, n))
}

func (ss *session) dele(c command) error {
	if len(c.args) != 1 {
		return ss.fail(ss.t.unknownCommand)
	}
	i, bad := ss.pick(c.args[0])
	if bad != "" {
		return ss.fail(bad)
	}
	ss.deleted[i] = true
	return ss.ok(ss.t.deleOK(i + 1))
}
