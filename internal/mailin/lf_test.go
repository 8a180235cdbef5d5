package mailin

import (
	"bytes"
	"strings"
	"testing"
)

func TestLFWriter(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"a\r\nb\r\n", "a\nb\n"},
		{"a\rb", "a\rb"},
		{"a\r", "a\r"},
		{"\r\n\r\n", "\n\n"},
		{"plain\n", "plain\n"},
	} {
		// Every split point of the input: a CR and its LF may arrive in
		// different writes.
		for cut := 0; cut <= len(c.in); cut++ {
			var out bytes.Buffer
			w := &lfWriter{w: &out}
			w.Write([]byte(c.in[:cut]))
			w.Write([]byte(c.in[cut:]))
			w.Flush()
			if out.String() != c.want {
				t.Errorf("%q cut at %d: %q, want %q", c.in, cut, out.String(), c.want)
			}
		}
	}
}

// FuzzLFWriter: the output is the input with every CRLF made LF, however
// the input is split into writes.
func FuzzLFWriter(f *testing.F) {
	f.Add("a\r\nb", 2)
	f.Add("\r\r\n\r", 1)
	f.Fuzz(func(t *testing.T, in string, cut int) {
		if cut < 0 || cut > len(in) {
			cut = len(in) / 2
		}
		var out bytes.Buffer
		w := &lfWriter{w: &out}
		w.Write([]byte(in[:cut]))
		w.Write([]byte(in[cut:]))
		w.Flush()
		if want := strings.ReplaceAll(in, "\r\n", "\n"); out.String() != want {
			t.Fatalf("%q -> %q, want %q", in, out.String(), want)
		}
	})
}
