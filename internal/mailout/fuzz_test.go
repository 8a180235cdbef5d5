package mailout

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

// FuzzReadHeader: any input either is refused with a FormatError or
// parses into fields that tile the header section in order; the
// transmitted text is the input minus exactly the Bcc fields, and parsing
// it again finds the same fields without them and the same recipients
// except the Bcc ones.
func FuzzReadHeader(f *testing.F) {
	for _, s := range []string{
		"To: a@x.example\r\n\r\nbody",
		"From: f@x.example\nBcc: a@x.example,\n b@x.example\nTo: Team: c@x.example;\n\n",
		"To: \"Doe, J\" <j@x.example>\r\nBcc:\r\n\r\n",
		"Subject : x\n\tfolded\nTo: a@x.example",
		"To: undisclosed-recipients:;\nbcc: z@x.example\n\n.\n",
		"\n", " x\n", "To: <a@x", "X: \r\r\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		h, err := readHeader(bytes.NewReader(data))
		if err != nil {
			if _, ok := err.(*FormatError); !ok {
				t.Fatalf("error of type %T: %v", err, err)
			}
			return
		}
		if h.Size <= 0 || h.Size > int64(len(data)) {
			t.Fatalf("size %d of %d bytes", h.Size, len(data))
		}
		var pos int64
		for _, fl := range h.Fields {
			if fl.Start != pos || fl.End <= fl.Start || fl.End > h.Size {
				t.Fatalf("field %q at [%d,%d) after %d", fl.Name, fl.Start, fl.End, pos)
			}
			pos = fl.End
		}
		if h.Size-pos > 2 {
			t.Fatalf("fields end at %d, the header at %d", pos, h.Size)
		}
		out := transmit(string(data), h)
		var blind int64
		for _, fl := range h.Fields {
			if isOneOf(fl.Name, blindFields) {
				blind += fl.End - fl.Start
			}
		}
		if int64(len(out)) != int64(len(data))-blind || !strings.HasSuffix(out, string(data[h.Size:])) {
			t.Fatalf("transmitted %d bytes of %d with %d in Bcc fields", len(out), len(data), blind)
		}
		rcpts, rerr := h.recipients()
		h2, err := readHeader(strings.NewReader(out))
		if err != nil {
			if len(out) == 0 || len(h.Fields) == countBlind(h) {
				return // only Bcc fields: nothing of the header is left
			}
			t.Fatalf("the transmitted text does not parse: %v\n%q", err, out)
		}
		if countBlind(h2) != 0 || len(h2.Fields) != len(h.Fields)-countBlind(h) {
			t.Fatalf("after stripping: %d fields, %d blind; before %d, %d blind", len(h2.Fields), countBlind(h2), len(h.Fields), countBlind(h))
		}
		if rerr == nil {
			rcpts2, err := h2.recipients()
			if err != nil {
				t.Fatalf("recipients after stripping: %v", err)
			}
			for _, r := range rcpts2 {
				found := false
				for _, r1 := range rcpts {
					found = found || strings.EqualFold(r, r1)
				}
				if !found {
					t.Fatalf("recipient %q appeared after stripping", r)
				}
				if err := checkAddress(r); err != nil {
					t.Fatal(err)
				}
			}
		}
	})
}

func countBlind(h *header) int {
	n := 0
	for _, f := range h.Fields {
		if isOneOf(f.Name, blindFields) {
			n++
		}
	}
	return n
}

// FuzzParseState: a state file parses or is refused, never panics, and
// what parses writes back to something that parses to the same.
func FuzzParseState(f *testing.F) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	f.Add((&retryState{Attempts: 1, FirstAttempt: at, NextAttempt: at, LastReply: "451 x",
		Delivered: []string{"a@x.example"}, Rejected: []rejection{{"b@x.example", "550 no"}}}).marshal())
	f.Add([]byte(`{"attempts":3}`))
	f.Add([]byte(`{"delivered":[""]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := parseState(data)
		if err != nil {
			return
		}
		again, err := parseState(st.marshal())
		if err != nil {
			t.Fatalf("re-parse: %v\n%s", err, st.marshal())
		}
		if !bytes.Equal(again.marshal(), st.marshal()) {
			t.Fatalf("not stable:\n%s\n%s", st.marshal(), again.marshal())
		}
	})
}
