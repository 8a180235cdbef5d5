package advice_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"testing"

	"mailtokens/internal/advice"
)

// says is an error with advice, a kind, or both, that may wrap another.
type says struct {
	text string
	kind advice.Kind
	err  error
}

func (e *says) Error() string                 { return "says " + e.text }
func (e *says) Unwrap() error                 { return e.err }
func (e *says) Advice() (string, advice.Kind) { return e.text, e.kind }

// asAdviser turns into an Adviser through an As method, as errors.As allows.
type asAdviser struct{ inner *says }

func (e asAdviser) Error() string { return "as" }
func (e asAdviser) As(target any) bool {
	if a, ok := target.(*advice.Adviser); ok {
		*a = e.inner
		return true
	}
	return false
}

func TestOfAlongTheChain(t *testing.T) {
	fix := &says{text: "Fix the client secret.", kind: advice.Misconfigured}
	cases := []struct {
		name string
		err  error
		text string
		kind advice.Kind
	}{
		{"nil", nil, "", advice.Unknown},
		{"plain", errors.New("boom"), "", advice.Unknown},
		{"direct", fix, "Fix the client secret.", advice.Misconfigured},
		{"three fmt layers", fmt.Errorf("a: %w", fmt.Errorf("b: %w", fmt.Errorf("c: %w", fix))), "Fix the client secret.", advice.Misconfigured},
		// An outer error decides the kind and leaves the words to the
		// error it wraps.
		{"kind outside, words inside", fmt.Errorf("pass: %w", &says{kind: advice.Reauthorize, err: fmt.Errorf("refresh: %w", fix)}),
			"Fix the client secret.", advice.Reauthorize},
		{"words outside, kind inside", &says{text: "Wait.", err: fmt.Errorf("x: %w", &says{kind: advice.Temporary})},
			"Wait.", advice.Temporary},
		{"outermost wins", &says{text: "Outer.", kind: advice.Temporary, err: fix}, "Outer.", advice.Temporary},
		{"join", errors.Join(errors.New("first"), fmt.Errorf("second: %w", fix)), "Fix the client secret.", advice.Misconfigured},
		{"join, first branch first", fmt.Errorf("both: %w", errors.Join(
			fmt.Errorf("one: %w", &says{kind: advice.Temporary}),
			fmt.Errorf("two: %w", errors.Join(errors.New("noise"), fix)))),
			"Fix the client secret.", advice.Temporary},
		{"several %w", fmt.Errorf("%w and %w", errors.New("plain"), &says{text: "Sign in.", kind: advice.Reauthorize}), "Sign in.", advice.Reauthorize},
		{"As method", fmt.Errorf("x: %w", asAdviser{fix}), "Fix the client secret.", advice.Misconfigured},
		{"network", fmt.Errorf("dial: %w", &net.OpError{Op: "dial", Err: errors.New("connection refused")}), "", advice.Temporary},
		{"deadline", fmt.Errorf("wait: %w", context.DeadlineExceeded), "", advice.Temporary},
		// A kind given anywhere in the chain beats the network guess.
		{"network, but classified", &says{kind: advice.Misconfigured, err: &net.OpError{Op: "dial", Err: errors.New("x")}}, "", advice.Misconfigured},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			text, kind := advice.Of(c.err)
			if text != c.text || kind != c.kind {
				t.Fatalf("Of = %q, %v; want %q, %v", text, kind, c.text, c.kind)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	if s := advice.Explain(nil); s != "" {
		t.Errorf("nil: %q", s)
	}
	if s := advice.Explain(errors.New("no advice here")); s != "no advice here" {
		t.Errorf("without advice: %q, want the error's text", s)
	}
	if s := advice.Explain(fmt.Errorf("x: %w", &says{text: "Do this."})); s != "Do this." {
		t.Errorf("with advice: %q", s)
	}
}
