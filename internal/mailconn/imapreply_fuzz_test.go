package mailconn

import (
	"bytes"
	"regexp"
	"testing"
)

// FuzzReplyLimit: whatever a server sends, in whatever pieces, the reply
// bound fails exactly when a reply (a line, continued after a literal's
// announcement) passes the limit, and never panics.
func FuzzReplyLimit(f *testing.F) {
	f.Add([]byte("* OK ready\r\n"), uint16(8), uint8(3))
	f.Add([]byte("* 1 FETCH (UID 1 BODY[] {5}\r\nab\ncd)\r\nT1 OK done\r\n"), uint16(30), uint8(7))
	f.Add([]byte("* LIST () \"/\" {3+}\r\nabc\r\n"), uint16(20), uint8(1))
	f.Add([]byte("{{12}\r}\r\n{1x}\r\n\n\n"), uint16(4), uint8(2))
	f.Add([]byte("a {1+2}\r\nbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb\n"), uint16(12), uint8(5))
	announce := regexp.MustCompile(`\{[0-9]+\+?\}\r?$`)
	f.Fuzz(func(t *testing.T, data []byte, max uint16, piece uint8) {
		limit := int(max%512) + 1
		// The reference: split into lines, join a line to the next when it
		// ends with an announcement.
		want := -1 // the offset of the byte that passes the limit
		n := 0
		start := 0
		for i, b := range data {
			n++
			if n > limit && b != '\n' {
				want = i
				break
			}
			if b == '\n' { // counted, but only the bytes after it can fail
				if !announce.Match(data[start:i]) {
					n = 0
				}
				start = i + 1
			}
		}
		l := &replyLimit{max: limit}
		got := -1
		step := int(piece%16) + 1
		for off := 0; off < len(data) && got < 0; off += step {
			end := min(off+step, len(data))
			if err := l.scan(data[off:end]); err != nil {
				got = off // the failing piece
			}
		}
		if (want < 0) != (got < 0) || (want >= 0 && (want < got || want >= got+step)) {
			t.Fatalf("limit %d, pieces of %d: failed in the piece at %d, want at byte %d (%q)", limit, step, got, want, bytes.ReplaceAll(data, []byte("\r"), []byte("\\r")))
		}
	})
}
