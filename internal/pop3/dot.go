package pop3

import (
	"bufio"
	"io"
)

// dotReader reads a dot-terminated multi-line reply (RFC 1939 §3): dot
// stuffing undone, CRLF turned into LF, io.EOF after the terminating "."
// line, io.ErrUnexpectedEOF when the connection ends before it. It reads
// the shared buffered reader byte by byte, so nothing past the terminator
// is taken from the next reply.
//
// It replaces net/textproto's DotReader, which treats a line after an
// empty bare-LF line as the middle of a line: "\n.\n.\n" read as the
// message "\n.\n" instead of "\n" and a terminator (found by FuzzRetr). A
// bare LF ends a line here as CRLF does.
type dotReader struct {
	r    *bufio.Reader
	bol  bool // at the beginning of a line
	done bool
}

func newDotReader(r *bufio.Reader) *dotReader { return &dotReader{r: r, bol: true} }

func (d *dotReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) && !d.done {
		c, err := d.byte()
		if err != nil {
			return n, err
		}
		if d.bol && c == '.' {
			next, err := d.byte()
			if err != nil {
				return n, err
			}
			if next == '\n' || next == '\r' && d.peekLF() {
				d.done = true
				break
			}
			c = next // a stuffed dot: the line goes on with the next byte
		}
		if c == '\r' && d.peekLF() {
			c = '\n'
		}
		p[n] = c
		n++
		d.bol = c == '\n'
	}
	if d.done && n == 0 {
		return 0, io.EOF
	}
	return n, nil
}

// byte reads one byte; the end of the connection is unexpected here.
func (d *dotReader) byte() (byte, error) {
	c, err := d.r.ReadByte()
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return c, err
}

// peekLF consumes a '\n' if it comes next.
func (d *dotReader) peekLF() bool {
	b, err := d.r.Peek(1)
	if err != nil || b[0] != '\n' {
		return false
	}
	d.r.ReadByte()
	return true
}
