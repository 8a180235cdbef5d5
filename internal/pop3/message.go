package pop3

import (
	"errors"
	"fmt"
	"io"
)

// messageReader is the body of a RETR or TOP reply. It owns the connection
// until the terminating "." has been read.
type messageReader struct {
	c       *Client
	command string
	r       io.Reader // a dotReader
	eof     bool
	err     error
	closed  bool
}

var errBodyClosed = errors.New("pop3: read from a closed message body")

func (m *messageReader) Read(p []byte) (int, error) {
	switch {
	case m.closed:
		return 0, errBodyClosed
	case m.err != nil:
		return 0, m.err
	case m.eof:
		return 0, io.EOF
	}
	n, err := m.r.Read(p)
	switch {
	case err == io.EOF:
		m.finish()
	case err != nil:
		// DotReader reports a connection that ends before "." as
		// io.ErrUnexpectedEOF, which fail wraps.
		m.err = m.c.fail(m.command, err)
		err = m.err
	}
	return n, err
}

// finish hands the connection back once the terminating "." is read.
func (m *messageReader) finish() {
	m.eof = true
	if m.c.body == m {
		m.c.body = nil
	}
}

// Close reads what is left of the message, so that the next reply can be
// read, and returns an error if that fails (the connection is then
// unusable).
func (m *messageReader) Close() error {
	if m.closed {
		return nil
	}
	m.closed = true
	if m.eof || m.err != nil {
		return nil
	}
	if m.c.err != nil || m.c.closed.Load() {
		// Closed or broken under us: nothing left to drain.
		return nil
	}
	if _, err := io.Copy(io.Discard, m.r); err != nil {
		m.err = m.c.fail(m.command, err)
		return fmt.Errorf("pop3: skipping the rest of the message: %w", m.err)
	}
	m.finish()
	return nil
}
