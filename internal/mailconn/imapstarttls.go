package mailconn

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"mailtokens/internal/mailserver"
)

// imapStartTLS upgrades an IMAP connection with STARTTLS before go-imap
// sees it. go-imap's own STARTTLS lays TLS above the connection it is
// given, so the reply bound beneath would count TLS records instead of
// IMAP lines; doing it here lets go-imap have a connection that is
// already secure, with the bound above TLS.
//
// It reads the greeting from conn (raw with the transcript's recorder, if
// any, and the watchdog: deadlines and the reply bound apply), makes sure
// STARTTLS is offered — in the greeting's CAPABILITY code, or asked for —
// and sends STARTTLS; after the tagged OK, it runs the TLS handshake on
// raw. A server without STARTTLS is refused, never used in the clear.
// The capabilities seen before TLS are forgotten (RFC 3501 and RFC 9051,
// 6.2.1): go-imap asks for them again inside TLS.
func imapStartTLS(ctx context.Context, conn net.Conn, raw net.Conn, s mailserver.Server) (*tls.Conn, error) {
	fail := func(stage Stage, reply string, err error) error {
		return &Error{Protocol: mailserver.IMAP, Server: s.Addr(), Stage: stage, Reply: reply, Err: err, Temporary: err != nil && temporary(err)}
	}
	br := bufio.NewReader(conn)
	greeting, err := readClearLine(br)
	if err != nil {
		return nil, &Error{Protocol: mailserver.IMAP, Server: s.Addr(), Stage: StageConnect, Err: err, Temporary: true}
	}
	switch {
	case greeting.tag == "*" && greeting.word == "OK":
	case greeting.tag == "*" && greeting.word == "PREAUTH":
		// Logged in already, in the clear: STARTTLS is no longer allowed.
		return nil, fail(StageTLS, "PREAUTH: STARTTLS not offered", errors.New("the server logged the connection in before TLS (PREAUTH)"))
	default: // BYE, or not IMAP
		return nil, &Error{Protocol: mailserver.IMAP, Server: s.Addr(), Stage: StageConnect, Reply: greeting.String(), Temporary: true,
			Err: errors.New("the server's greeting was not OK")}
	}
	caps, ok := greetingCaps(greeting.text)
	if !ok {
		if _, err := io.WriteString(conn, "a CAPABILITY\r\n"); err != nil {
			return nil, fail(StageTLS, "", err)
		}
		done, untagged, err := readTagged(br, "a")
		if err != nil {
			return nil, fail(StageTLS, "", err)
		}
		if done.word != "OK" {
			return nil, fail(StageTLS, "CAPABILITY: "+done.String(), nil)
		}
		for _, l := range untagged {
			if l.tag == "*" && l.word == "CAPABILITY" {
				caps = l.text
			}
		}
	}
	if !hasWord(caps, "STARTTLS") {
		return nil, fail(StageTLS, "STARTTLS not offered (capabilities: "+caps+")", nil)
	}
	if _, err := io.WriteString(conn, "b STARTTLS\r\n"); err != nil {
		return nil, fail(StageTLS, "", err)
	}
	done, _, err := readTagged(br, "b")
	if err != nil {
		return nil, fail(StageTLS, "", err)
	}
	if done.word != "OK" {
		return nil, fail(StageTLS, "STARTTLS: "+done.String(), nil)
	}
	if br.Buffered() > 0 {
		// Taken as encrypted, it would be an answer to a command we have
		// not sent yet (the STARTTLS injection of CVE-2011-0411's kind).
		return nil, fail(StageTLS, "", errors.New("the server sent more after its STARTTLS OK, before TLS: refused"))
	}
	tc := tls.Client(raw, tlsConfig(s))
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, fail(StageTLS, "", err)
	}
	return tc, nil
}

// clearLine is an IMAP response line read before TLS.
type clearLine struct {
	tag  string // "*" for untagged data
	word string // upper-cased: OK, NO, BAD, BYE, PREAUTH, CAPABILITY…
	text string // the rest
}

func (l clearLine) String() string { return strings.TrimSpace(l.word + " " + l.text) }

// readClearLine reads one line; its length is bounded by the reply bound
// of the connection beneath.
func readClearLine(br *bufio.Reader) (clearLine, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return clearLine{}, err
	}
	line = strings.TrimRight(line, "\r\n")
	tag, rest, _ := strings.Cut(line, " ")
	word, text, _ := strings.Cut(rest, " ")
	return clearLine{tag: tag, word: strings.ToUpper(word), text: text}, nil
}

// maxClearLines bounds the lines a server may send before its answer to
// CAPABILITY or STARTTLS; real servers send one.
const maxClearLines = 100

// readTagged reads lines up to the one tagged tag, and returns it with the
// untagged lines before it.
func readTagged(br *bufio.Reader, tag string) (clearLine, []clearLine, error) {
	var untagged []clearLine
	for range maxClearLines {
		l, err := readClearLine(br)
		if err != nil {
			return l, untagged, err
		}
		if l.tag == tag {
			return l, untagged, nil
		}
		untagged = append(untagged, l)
	}
	return clearLine{}, untagged, fmt.Errorf("the server sent more than %d lines without answering %s: connection closed", maxClearLines, tag)
}

// greetingCaps is the capability list of a greeting's "[CAPABILITY …]"
// code, if it has one.
func greetingCaps(text string) (string, bool) {
	code, ok := strings.CutPrefix(text, "[")
	if !ok {
		return "", false
	}
	code, _, ok = strings.Cut(code, "]")
	name, list, _ := strings.Cut(code, " ")
	if !ok || !strings.EqualFold(name, "CAPABILITY") {
		return "", false
	}
	return list, true
}

// tlsGreeting is what go-imap reads first on a connection upgraded by
// imapStartTLS: its client waits for a greeting, and the server's came
// before TLS. It names no capabilities, so go-imap asks for them anew.
const tlsGreeting = "* OK TLS established\r\n"

// greetedConn hands go-imap tlsGreeting before what the server sends.
type greetedConn struct {
	*watchdogConn
	greeting *strings.Reader
}

func (c *greetedConn) Read(p []byte) (int, error) {
	if c.greeting.Len() > 0 {
		return c.greeting.Read(p)
	}
	return c.watchdogConn.Read(p)
}
