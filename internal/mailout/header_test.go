package mailout

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestRecipients(t *testing.T) {
	for _, c := range []struct {
		name, header string
		want         []string
	}{
		{"to", "To: a@example.net\n", []string{"a@example.net"}},
		{"display names", "To: \"Doe, Jane\" <jane@example.net>, Bob <bob@example.net>\n", []string{"jane@example.net", "bob@example.net"}},
		{"to cc bcc in header order", "Bcc: c@x.example\nTo: a@x.example\nCc: b@x.example\n", []string{"c@x.example", "a@x.example", "b@x.example"}},
		{"case-insensitive names", "TO: a@x.example\ncc: b@x.example\nBCC: c@x.example\n", []string{"a@x.example", "b@x.example", "c@x.example"}},
		{"group", "To: Team: a@x.example, \"B\" <b@x.example>;\n", []string{"a@x.example", "b@x.example"}},
		{"empty group", "To: undisclosed-recipients:;\nBcc: a@x.example\n", []string{"a@x.example"}},
		{"empty bcc", "To: a@x.example\nBcc:\n", []string{"a@x.example"}},
		{"folded", "To: a@x.example,\r\n b@x.example,\r\n\tc@x.example\r\n", []string{"a@x.example", "b@x.example", "c@x.example"}},
		{"once each", "To: a@x.example, A@X.EXAMPLE\nCc: a@x.example\n", []string{"a@x.example"}},
		{"encoded name, unknown charset", "To: =?x-unknown?q?J=F6rg?= <j@x.example>\n", []string{"j@x.example"}},
		{"comments", "To: a@x.example (the boss)\n", []string{"a@x.example"}},
		{"not recipients", "From: f@x.example\nReply-To: r@x.example\nResent-To: z@x.example\nTo: a@x.example\n", []string{"a@x.example"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := readHeader(strings.NewReader(c.header + "\nbody\n"))
			if err != nil {
				t.Fatal(err)
			}
			got, err := h.recipients()
			if err != nil || !slices.Equal(got, c.want) {
				t.Fatalf("got %q, %v; want %q", got, err, c.want)
			}
		})
	}
}

// What is refused, and that the reason says where and why.
func TestNotAMessage(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"empty", "", "the file is empty"},
		{"blank first line", "\r\nTo: a@x.example\r\n", "line 1: the message starts with an empty line"},
		{"mbox From line", "From someone@x.example Mon Jan 1 00:00:00 2026\nTo: a@x.example\n\nx\n", `line 1: "From someone@x.example Mon Jan 1 00:00:00 2026" is neither a header field (Name: value) nor the empty line that ends the header (an mbox "From " line: remove it)`},
		{"continuation first", " folded\nTo: a@x.example\n", "line 1: starts with a blank"},
		{"space in name", "To: a@x.example\nX Bad: y\n\n", `line 2: "X Bad: y" is neither`},
		{"no colon later", "To: a@x.example\nplain text\n", `line 2: "plain text" is neither`},
		{"bad address list", "To: <a@x.example\n\n", "the To field \"<a@x.example\" does not parse"},
		{"no domain", "To: root\n\n", `the To field "root" does not parse as an address list`},
		{"huge header", "To: a@x.example\nX: " + strings.Repeat("y", maxHeaderBytes) + "\n\n", "larger than"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h, err := readHeader(strings.NewReader(c.text))
			if err == nil {
				_, err = h.recipients()
			}
			var fe *FormatError
			if !errors.As(err, &fe) || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want a FormatError containing %q", err, c.want)
			}
		})
	}
}

func TestKeptRangesDropBccOnly(t *testing.T) {
	text := "From: f@x.example\r\nBcc: a@x.example,\r\n b@x.example\r\nTo: t@x.example\r\nresent-bcc: r@x.example\r\n\r\nBcc: body\r\n"
	h, err := readHeader(strings.NewReader(text))
	if err != nil {
		t.Fatal(err)
	}
	got := transmit(text, h)
	if want := "From: f@x.example\r\nTo: t@x.example\r\n\r\nBcc: body\r\n"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	if h.Size != int64(strings.Index(text, "\r\n\r\n")+4) {
		t.Fatalf("header size %d", h.Size)
	}
}

// transmit applies keptRanges to text.
func transmit(text string, h *header) string {
	var b strings.Builder
	for _, r := range h.keptRanges(int64(len(text))) {
		b.WriteString(text[r[0]:r[1]])
	}
	return b.String()
}

func TestStateRoundTrip(t *testing.T) {
	at := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	st := &retryState{Attempts: 2, FirstAttempt: at, LastAttempt: at.Add(time.Minute), NextAttempt: at.Add(3 * time.Minute),
		LastReply: "end of data: 451 4.3.0 later\n451 second line", Delivered: []string{"a@x.example"},
		Rejected: []rejection{{Rcpt: "b@x.example", Reply: "550 5.1.1 unknown"}}}
	got, err := parseState(st.marshal())
	if err != nil {
		t.Fatal(err)
	}
	if string(got.marshal()) != string(st.marshal()) {
		t.Fatalf("round trip:\n%s\n%s", got.marshal(), st.marshal())
	}
	if !slices.Equal(got.remaining([]string{"A@x.example", "b@x.example", "c@x.example"}), []string{"c@x.example"}) {
		t.Fatalf("remaining: %v", got.remaining([]string{"A@x.example", "b@x.example", "c@x.example"}))
	}
	for _, bad := range []string{``, `{}{}`, `{"attempts":-1}`, `{"unknown":1}`, `{"delivered":["no-at"]}`, `[1]`, `{"next_attempt":"soon"}`} {
		if _, err := parseState([]byte(bad)); err == nil {
			t.Errorf("parseState(%q) accepted it", bad)
		}
	}
}
