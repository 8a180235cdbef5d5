package mailin

import "io"

// lfWriter turns CRLF line ends into LF on the way through, as Maildir
// files have them. A CR not followed by LF is kept.
type lfWriter struct {
	w       io.Writer
	pending bool // the last byte written to us was a CR, not yet passed on
	buf     []byte
}

func (l *lfWriter) Write(p []byte) (int, error) {
	l.buf = l.buf[:0]
	for _, c := range p {
		if l.pending {
			l.pending = false
			if c != '\n' {
				l.buf = append(l.buf, '\r')
			}
		}
		if c == '\r' {
			l.pending = true
			continue
		}
		l.buf = append(l.buf, c)
	}
	if _, err := l.w.Write(l.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Flush passes on a CR held back at the very end.
func (l *lfWriter) Flush() error {
	if !l.pending {
		return nil
	}
	l.pending = false
	_, err := l.w.Write([]byte{'\r'})
	return err
}
