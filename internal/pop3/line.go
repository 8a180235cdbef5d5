package pop3

import (
	"bufio"
	"errors"
	"io"
)

// readLine reads one reply line and returns it without its line end (CRLF,
// or a bare LF). A line that the connection cuts off before its LF is an
// error wrapping io.ErrUnexpectedEOF, never a line: "+OK" without its line
// end may be the first bytes of anything ("+OK" is all a cut RETR reply
// needs to pass for an empty message).
func (c *Client) readLine() (string, error) {
	var long []byte
	for {
		frag, err := c.r.R.ReadSlice('\n')
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
