package pop3d

import (
	"errors"
	"strconv"
	"strings"
)

// command is one line from a client.
type command struct {
	// verb is the keyword, upper-cased: POP3 keywords are case-insensitive.
	verb string
	// args are the words after the keyword.
	args []string
	// rest is everything after the keyword and its space, unsplit: a
	// password may hold spaces (RFC 1939 PASS takes the rest of the line).
	rest string
}

var (
	errEmptyCommand = errors.New("empty command")
	errBadKeyword   = errors.New("bad keyword")
	errControlChars = errors.New("control characters in command")
)

// maxKeyword is generous: RFC 1939 keywords have 3 or 4 letters, and
// extensions rarely more.
const maxKeyword = 16

// parseCommand splits a command line (without its CRLF). It rejects control
// characters, which no command or base64 response holds and which could
// only confuse the logs.
func parseCommand(line string) (command, error) {
	if line == "" {
		return command{}, errEmptyCommand
	}
	for i := 0; i < len(line); i++ {
		if c := line[i]; c < ' ' && c != '\t' || c == 0x7f {
			return command{}, errControlChars
		}
	}
	keyword, rest, _ := strings.Cut(line, " ")
	if keyword == "" || len(keyword) > maxKeyword {
		return command{}, errBadKeyword
	}
	for i := 0; i < len(keyword); i++ {
		c := keyword[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-') {
			return command{}, errBadKeyword
		}
	}
	return command{verb: strings.ToUpper(keyword), args: strings.Fields(rest), rest: rest}, nil
}

// msgNumber reads a message-number argument: decimal digits only, from 1.
func msgNumber(arg string) (int, bool) {
	if arg == "" || len(arg) > 9 {
		return 0, false
	}
	for i := 0; i < len(arg); i++ {
		if arg[i] < '0' || arg[i] > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(arg)
	return n, err == nil && n >= 1
}
