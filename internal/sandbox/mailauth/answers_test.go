package mailauth

import (
	"errors"
	"testing"

	"github.com/emersion/go-sasl"
)

// TestAnswerWatch: the guard refuses exactly a line "=" that follows a
// continuation, however the conversation is cut into writes; "=" on a
// command line, after another line, or as a longer line is left alone.
func TestAnswerWatch(t *testing.T) {
	refusal := errors.New("malformed")
	for _, tc := range []struct {
		name   string
		cont   string // "" for IMAP's "+"
		writes []string
		refuse bool
	}{
		{"answer to a failure challenge", "", []string{"+ eyJzdGF0dXMiOiI0MDEifQ==\r\n", "=\r\n"}, true},
		{"split anywhere", "", []string{"+", " eyJ", "zdGF0dXMiOiI0MDEifQ==\r", "\n=", "\r", "\n"}, true},
		{"answer to an empty challenge", "", []string{"+ \r\n=\r\n"}, true},
		{"bare continuation, bare line end", "", []string{"+\n=\n"}, true},
		{"SMTP", "334", []string{"334 \r\n=\r\n"}, true},
		{"empty answer", "", []string{"+ eyJ9\r\n\r\n"}, false},
		{"on the command line", "", []string{"a AUTHENTICATE XOAUTH2 =\r\n"}, false},
		{"not right after the continuation", "", []string{"+ eyJ9\r\n\r\n=\r\n"}, false},
		{"longer line", "", []string{"+ eyJ9\r\n==\r\n"}, false},
		{"no space after +", "", []string{"+eyJ9\r\n=\r\n"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cont := tc.cont
			if cont == "" {
				cont = "+"
			}
			w := NewAnswerWatch(cont)
			for _, p := range tc.writes {
				w.Write([]byte(p))
			}
			_, done, err := w.Guard(sasl.NewAnonymousServer(func(string) error { return nil }), refusal).Next([]byte{})
			if refused := errors.Is(err, refusal); refused != tc.refuse || (refused && !done) {
				t.Fatalf("refused %v (done %v), want %v", refused, done, tc.refuse)
			}
			// The watch forgets: the next step goes to the mechanism.
			if _, _, err := w.Guard(sasl.NewAnonymousServer(func(string) error { return nil }), refusal).Next([]byte{}); errors.Is(err, refusal) {
				t.Fatal("refused twice for one answer")
			}
		})
	}
}
