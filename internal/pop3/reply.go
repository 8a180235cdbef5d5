package pop3

import (
	"fmt"
	"strconv"
	"strings"
)

// Parsers for what the server sends. Each one gets a single line without
// its CRLF and must cope with anything: these are fuzzed.

// indicator is how a reply line starts.
type indicator int

const (
	replyOK       indicator = iota // +OK
	replyErr                       // -ERR
	replyContinue                  // "+" or "+ <base64>", only inside AUTH
)

// parseStatus splits a status line into its indicator and the text after
// it (one separating space removed, the rest as the server sent it).
// Continuation lines are accepted only when cont is set. The indicators are
// matched without regard to case; RFC 1939 asks for upper case but nothing
// is gained by refusing "+ok".
func parseStatus(line string, cont bool) (indicator, string, error) {
	if text, ok := cutIndicator(line, "+OK"); ok {
		return replyOK, text, nil
	}
	if text, ok := cutIndicator(line, "-ERR"); ok {
		return replyErr, text, nil
	}
	// RFC 5034 says "+ " then base64; Exchange Online's documentation shows
	// a bare "+" for the empty challenge, so both are taken.
	if cont && (line == "+" || strings.HasPrefix(line, "+ ")) {
		return replyContinue, strings.TrimSpace(line[1:]), nil
	}
	return 0, "", fmt.Errorf("%w: %s is neither +OK nor -ERR", ErrMalformed, quote(line))
}

func cutIndicator(line, ind string) (string, bool) {
	if len(line) < len(ind) || !strings.EqualFold(line[:len(ind)], ind) {
		return "", false
	}
	rest := line[len(ind):]
	if rest == "" {
		return "", true
	}
	if rest[0] != ' ' {
		return "", false
	}
	return rest[1:], true
}

// parseCode returns the RFC 2449 response code at the start of a -ERR text,
// upper-cased and without brackets, or "" if there is none or it is not
// well formed (resp-level = 1*<CHAR except SP, CRLF, "[", "]" and "/">,
// levels joined by "/").
func parseCode(text string) string {
	if !strings.HasPrefix(text, "[") {
		return ""
	}
	end := strings.IndexByte(text, ']')
	if end < 0 {
		return ""
	}
	code := text[1:end]
	for level := range strings.SplitSeq(code, "/") {
		if level == "" {
			return ""
		}
		for i := 0; i < len(level); i++ {
			if c := level[i]; c <= ' ' || c >= 0x7f || c == '[' {
				return ""
			}
		}
	}
	return strings.ToUpper(code)
}

// parseNumber reads a decimal number without sign, as POP3 writes message
// numbers, counts and sizes. strconv alone would take "+1" and "0x1".
func parseNumber(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// parseMsgNum reads a message number, which starts at 1.
func parseMsgNum(s string) (int, bool) {
	n, ok := parseNumber(s)
	if !ok || n < 1 || n > int64(maxMsgNum) {
		return 0, false
	}
	return int(n), true
}

// maxMsgNum keeps message numbers inside an int on every platform.
const maxMsgNum = 1<<31 - 1

// parseStat reads the text of a STAT reply: "count size", perhaps followed
// by more that RFC 1939 says clients ignore.
func parseStat(text string) (count int, size int64, err error) {
	f := strings.Fields(text)
	if len(f) >= 2 {
		c, ok1 := parseNumber(f[0])
		s, ok2 := parseNumber(f[1])
		if ok1 && ok2 && c <= maxMsgNum {
			return int(c), s, nil
		}
	}
	return 0, 0, fmt.Errorf("%w: STAT reply %s is not \"count size\"", ErrMalformed, quote(text))
}

// parseListLine reads a scan listing line: "num size".
func parseListLine(line string) (MessageSize, error) {
	f := strings.Fields(line)
	if len(f) >= 2 {
		num, ok1 := parseMsgNum(f[0])
		size, ok2 := parseNumber(f[1])
		if ok1 && ok2 {
			return MessageSize{Num: num, Size: size}, nil
		}
	}
	return MessageSize{}, fmt.Errorf("%w: scan listing %s is not \"number size\"", ErrMalformed, quote(line))
}

// parseUIDLine reads a unique-id listing line: "num uid". RFC 1939 allows
// the characters 0x21 to 0x7E in a unique id; anything else is refused,
// because the id is what the worker stores to recognise a message it has
// already delivered, and a server that sends something else cannot be
// trusted to send the same thing again.
func parseUIDLine(line string) (MessageID, error) {
	f := strings.Fields(line)
	if len(f) == 2 {
		num, ok := parseMsgNum(f[0])
		if ok && validUID(f[1]) {
			return MessageID{Num: num, UID: f[1]}, nil
		}
	}
	return MessageID{}, fmt.Errorf("%w: unique-id listing %s is not \"number uid\"", ErrMalformed, quote(line))
}

func validUID(uid string) bool {
	if uid == "" {
		return false
	}
	for i := 0; i < len(uid); i++ {
		if uid[i] < 0x21 || uid[i] > 0x7e {
			return false
		}
	}
	return true
}

// HasCapability reports whether caps, as Capabilities returns them, lists
// the capability name ("UIDL", "STLS", "SASL"), ignoring case.
func HasCapability(caps []string, name string) bool {
	for _, c := range caps {
		tag, _, _ := strings.Cut(c, " ")
		if strings.EqualFold(tag, name) {
			return true
		}
	}
	return false
}

// SASLMechanisms returns the mechanisms of the SASL capability in caps,
// upper-cased ("PLAIN", "XOAUTH2"), or nil if there is none.
func SASLMechanisms(caps []string) []string {
	var mechs []string
	for _, c := range caps {
		f := strings.Fields(c)
		if len(f) > 0 && strings.EqualFold(f[0], "SASL") {
			for _, m := range f[1:] {
				mechs = append(mechs, strings.ToUpper(m))
			}
		}
	}
	return mechs
}
