package mailout

import (
	"io"
	"os"
	"strings"
)

// message is an open queued message file, its header read and checked; the
// body stays on disk until it is sent. The file stays open from the check to
// the end of the transmission, so both see the same bytes.
type message struct {
	f      *os.File
	size   int64
	header *header
	// rcpts are the envelope recipients from To, Cc and Bcc.
	rcpts []string
}

// openMessage opens the message at path and reads and checks its header. A
// *FormatError means the file is not a message that can be sent. The caller
// closes the message.
func openMessage(path string) (*message, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	m, err := checkMessage(f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return m, nil
}

func checkMessage(f *os.File) (*message, error) {
	info, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, formatErr(0, "%s is not a regular file", f.Name())
	}
	h, err := readHeader(io.NewSectionReader(f, 0, info.Size()))
	if err != nil {
		return nil, err
	}
	rcpts, err := h.recipients()
	if err != nil {
		return nil, err
	}
	if len(rcpts) == 0 {
		return nil, formatErr(0, "no recipients: To, Cc and Bcc hold no address")
	}
	return &message{f: f, size: info.Size(), header: h, rcpts: rcpts}, nil
}

// Close closes the file.
func (m *message) Close() error { return m.f.Close() }

// checkNew is what `batchmail enqueue` demands beyond what sending needs: a
// From field, which RFC 5322 requires and servers may refuse mail without.
func (m *message) checkNew() error {
	if v, ok := m.header.get("From"); !ok || strings.TrimSpace(v) == "" {
		return formatErr(0, "no From field: add one, such as \"From: Notifications <notifications@contoso.com>\"")
	}
	return nil
}

// transmitted reads the message as it goes on the wire: the file's bytes
// without the Bcc fields, from disk as they are sent.
func (m *message) transmitted() io.Reader {
	var parts []io.Reader
	for _, r := range m.header.keptRanges(m.size) {
		parts = append(parts, io.NewSectionReader(m.f, r[0], r[1]-r[0]))
	}
	return io.MultiReader(parts...)
}

// wireSize is how many bytes of the file are transmitted (before SMTP's
// dot-stuffing), for comparing with the server's SIZE.
func (m *message) wireSize() int64 {
	var n int64
	for _, r := range m.header.keptRanges(m.size) {
		n += r[1] - r[0]
	}
	return n
}
