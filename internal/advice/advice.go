// Package advice says what a person should do about an error, and who must
// act. Error types carry their own advice ([Adviser]); [Of] finds it along
// the wrap chain. Nothing here, or in the packages that use it, decides
// anything by reading an error's text.
package advice

import (
	"errors"
	"net"
)

// Kind says who has to act on a failure.
type Kind int

const (
	// Unknown: no error in the chain says.
	Unknown Kind = iota
	// Temporary failures (network, timeouts, 5xx, throttling, a busy
	// server) go away by themselves: keep going and retry later.
	Temporary
	// Reauthorize failures need a person to sign in again (Get Email
	// Token): the grant is gone, or the token waits for an admin.
	Reauthorize
	// Misconfigured failures need settings fixed: the app registration,
	// the token's settings, the task file, the mailbox's permissions.
	Misconfigured
)

func (k Kind) String() string {
	switch k {
	case Temporary:
		return "temporary"
	case Reauthorize:
		return "needs authorization"
	case Misconfigured:
		return "misconfigured"
	}
	return "unknown"
}

// Code is the kind's stable name for storage and JSON: "temporary",
// "reauthorize", "misconfigured", or "" for Unknown.
func (k Kind) Code() string {
	switch k {
	case Temporary:
		return "temporary"
	case Reauthorize:
		return "reauthorize"
	case Misconfigured:
		return "misconfigured"
	}
	return ""
}

// ParseKind is the Kind whose Code is code; Unknown for anything else.
func ParseKind(code string) Kind {
	for _, k := range []Kind{Temporary, Reauthorize, Misconfigured} {
		if k.Code() == code {
			return k
		}
	}
	return Unknown
}

// An Adviser is an error that knows what a person should do about it.
type Adviser interface {
	// Advice is what to do, in a sentence or two, and who must act.
	// "" or Unknown leaves that part to the errors it wraps.
	Advice() (string, Kind)
}

// Of returns the advice and the kind of err: the first non-empty advice
// and the first known kind among the errors in err's tree, visited in the
// order [errors.As] visits them (outermost first; every branch of an
// [errors.Join]). An error that no Adviser classifies is Temporary when it
// comes from the network (a [net.Error], which includes timeouts and
// [context.DeadlineExceeded]).
func Of(err error) (text string, kind Kind) {
	walk(err, func(e error) bool {
		a, ok := e.(Adviser)
		if !ok {
			if x, has := e.(interface{ As(any) bool }); !has || !x.As(&a) {
				return false
			}
		}
		t, k := a.Advice()
		if text == "" {
			text = t
		}
		if kind == Unknown {
			kind = k
		}
		return text != "" && kind != Unknown
	})
	var ne net.Error
	if kind == Unknown && errors.As(err, &ne) {
		kind = Temporary
	}
	return text, kind
}

// Explain is the sentence to show a person about err: its advice, or its
// own text when no error in the chain gives any.
func Explain(err error) string {
	if err == nil {
		return ""
	}
	if text, _ := Of(err); text != "" {
		return text
	}
	return err.Error()
}

// walk calls visit on err and the errors it wraps, depth first, until
// visit returns true.
func walk(err error, visit func(error) bool) bool {
	for err != nil {
		if visit(err) {
			return true
		}
		switch u := err.(type) {
		case interface{ Unwrap() error }:
			err = u.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range u.Unwrap() {
				if walk(e, visit) {
					return true
				}
			}
			return false
		default:
			return false
		}
	}
	return false
}
