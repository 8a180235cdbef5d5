package pop3

import (
	"bufio"
	"errors"
	"fmt"
	"io"
)

// Limits on what the server may send outside a message body, far above
// what real servers send and low enough that a broken or hostile server
// cannot make the worker hold much memory: RFC 2449 caps a reply line at
// 512 octets, RFC 1939 a unique id at 70 characters, and a maildrop of
// 200,000 messages is far beyond what anyone reads over POP3 (Gmail hands
// out a few hundred per session).
const (
	// MaxLineLength bounds a reply line, line end excluded.
	MaxLineLength = 64 << 10
	// MaxListingLines bounds the lines of a multi-line reply other than
	// a message (CAPA, UIDL, LIST): the messages of a maildrop.
	MaxListingLines = 200_000
	// MaxListingBytes bounds the bytes of such a reply.
	MaxListingBytes = 8 << 20
)

// ErrTooLong is wrapped by errors about a reply over the limits above. The
// connection is given up: the server is broken or hostile.
var ErrTooLong = errors.New("reply over the client's limits")

// readLine reads one reply line and returns it without its line end (CRLF,
// or a bare LF). A line that the connection cuts off before its LF is an
// error wrapping io.ErrUnexpectedEOF, never a line: "+OK" without its line
// end may be the first bytes of anything ("+OK" is all a cut RETR reply
// needs to pass for an empty message). A line longer than MaxLineLength
// is an error wrapping ErrTooLong, found before it is held in memory.
func (c *Client) readLine() (string, error) {
	var long []byte
	for {
		frag, err := c.r.R.ReadSlice('\n')
		if len(long)+len(frag) > MaxLineLength+len("\r\n") {
			return "", fmt.Errorf("%w: a line longer than %d bytes", ErrTooLong, MaxLineLength)
		}
		switch {
		case errors.Is(err, bufio.ErrBufferFull):
			long = append(long, frag...)
			continue
		case err == io.EOF && len(long)+len(frag) > 0:
			return "", io.ErrUnexpectedEOF
		case err != nil:
			return "", err
		}
		line := frag
		if long != nil {
			line = append(long, frag...)
		}
		line = line[:len(line)-1]
		if n := len(line); n > 0 && line[n-1] == '\r' {
			line = line[:n-1]
		}
		return string(line), nil
	}
}
