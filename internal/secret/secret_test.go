package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

const value = "hunter2-very-secret"

func TestSecretNeverPrints(t *testing.T) {
	s := New(value)
	type holder struct {
		Name   string
		Secret Secret
		Ptr    *Secret
	}
	h := holder{Name: "x", Secret: s, Ptr: &s}

	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d"} {
		outs = append(outs, fmt.Sprintf(verb, s), fmt.Sprintf(verb, h))
	}
	outs = append(outs, fmt.Sprint(s), fmt.Sprintln(h), s.String())

	js, err := json.Marshal(h)
	if err != nil {
		t.Fatal(err)
	}
	outs = append(outs, string(js))

	var buf bytes.Buffer
	logger := slog.New(slog.NewJSONHandler(&buf, nil))
	logger.Info("msg", "secret", s, "holder", h)
	text := slog.New(slog.NewTextHandler(&buf, nil))
	text.Info("msg", "secret", s, "holder", h)
	outs = append(outs, buf.String())

	for _, out := range outs {
		if strings.Contains(out, value) || strings.Contains(out, fmt.Sprintf("%x", value)) {
			t.Errorf("secret leaked: %s", out)
		}
	}
	if !strings.Contains(fmt.Sprint(s), redacted) {
		t.Errorf("Sprint = %q, want it to say %s", fmt.Sprint(s), redacted)
	}
}

func TestSecretReveal(t *testing.T) {
	s := New(value)
	if s.Reveal() != value {
		t.Fatalf("Reveal = %q", s.Reveal())
	}
	if s.IsZero() || !New("").IsZero() {
		t.Fatal("IsZero wrong")
	}
	if !s.Equal(New(value)) || s.Equal(New("other")) {
		t.Fatal("Equal wrong")
	}
	if New("").String() != "" {
		t.Fatal("an empty secret should print empty, so forms can tell 'unset' from 'set'")
	}
}
