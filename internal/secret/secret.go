// Package secret holds values that must never reach a log line, a page or
// an error message: client secrets, access tokens and refresh tokens.
//
// A Secret prints as "[redacted]" through fmt, log/slog, encoding/json and
// encoding/text, so a struct that carries one can be logged whole without
// leaking it. Code that really needs the value calls Reveal, which is easy to
// find in a review.
package secret

import (
	"fmt"
	"log/slog"
)

// Secret is a string that refuses to be printed.
type Secret struct {
	v string
}

const redacted = "[redacted]"

// New wraps a value.
func New(v string) Secret { return Secret{v: v} }

// Reveal returns the value. Call it only where the value leaves the process
// on purpose: a protocol exchange or the encryption layer.
func (s Secret) Reveal() string { return s.v }

// IsZero reports whether the secret is empty.
func (s Secret) IsZero() bool { return s.v == "" }

// Equal compares two secrets without revealing them to the caller.
func (s Secret) Equal(o Secret) bool { return s.v == o.v }

// String implements fmt.Stringer.
func (s Secret) String() string {
	if s.v == "" {
		return ""
	}
	return redacted
}

// GoString implements fmt.GoStringer, so %#v does not leak either.
func (s Secret) GoString() string { return `secret.Secret("` + s.String() + `")` }

// Format implements fmt.Formatter: every verb, %x and %q included, prints the
// redacted form.
func (s Secret) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		fmt.Fprint(f, s.GoString())
		return
	}
	fmt.Fprint(f, s.String())
}

// LogValue implements slog.LogValuer.
func (s Secret) LogValue() slog.Value { return slog.StringValue(s.String()) }

// MarshalText implements encoding.TextMarshaler (and so JSON and XML).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }
