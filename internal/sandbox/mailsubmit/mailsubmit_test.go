package mailsubmit

import (
	"bytes"
	"net/mail"
	"slices"
	"strings"
	"testing"
)

func header(t *testing.T, raw string) mail.Header {
	t.Helper()
	m, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.Header
}

func TestRecipients(t *testing.T) {
	h := header(t, "To: A <A@x.example>, b@x.example\r\nCc: \r\nBcc: a@x.example, c@x.example\r\n\r\nbody\r\n")
	rcpts, bad := Recipients(h)
	if want := []string{"a@x.example", "b@x.example", "c@x.example"}; !slices.Equal(rcpts, want) || bad != "" {
		t.Errorf("Recipients = %q, %q; want %q, none bad", rcpts, bad, want)
	}
	// A field that does not parse is named and skipped; the others count.
	h = header(t, "To: not an address\r\nCc: c@x.example\r\n\r\n")
	if rcpts, bad := Recipients(h); !slices.Equal(rcpts, []string{"c@x.example"}) || bad != "To" {
		t.Errorf("Recipients = %q, %q; want [c@x.example], To", rcpts, bad)
	}
}

func TestWithoutHeader(t *testing.T) {
	raw := "To: a@x.example\r\nBcc: b@x.example,\r\n c@x.example\r\nSubject: s\r\n\r\nBcc: in the body\r\n"
	want := "To: a@x.example\r\nSubject: s\r\n\r\nBcc: in the body\r\n"
	if got := WithoutHeader([]byte(raw), "bcc"); !bytes.Equal(got, []byte(want)) {
		t.Errorf("WithoutHeader = %q, want %q", got, want)
	}
}

func TestSnapshot(t *testing.T) {
	type sent struct {
		Message
		ID string
	}
	log := []sent{{Message: Message{Recipients: []string{"a@x.example"}}, ID: "1"}}
	out := Snapshot(log)
	out[0].Recipients[0] = "changed"
	if log[0].Recipients[0] != "a@x.example" || out[0].ID != "1" {
		t.Errorf("Snapshot shares Recipients or loses fields: %+v", log)
	}
}
