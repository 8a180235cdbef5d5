package oauthsasl

import (
	"fmt"

	"github.com/emersion/go-sasl"
)

// clientExchange is the state both client mechanisms share: they differ only
// in their initial response and in how they answer a failure challenge.
type clientExchange struct {
	mech     string
	ir       []byte
	irErr    error  // why ir could not be built; Start reports it
	answer   []byte // the dummy answer to a failure challenge
	irAsked  bool   // the server asked for the initial response with an empty challenge
	answered bool   // a failure challenge has been answered
	failure  *Failure
}

func (c *clientExchange) start() (string, []byte, error) {
	// A client value may be reused for another login; the last exchange's
	// failure must not be reported for this one.
	c.irAsked, c.answered, c.failure = false, false, nil
	if c.irErr != nil {
		return "", nil, c.irErr
	}
	return c.mech, clone(c.ir), nil
}

// next answers a challenge. Only a protocol violation returns an error: a
// failure challenge is answered with the mechanism's dummy answer so that the
// server can end the exchange with its own NO / 535 / -ERR. Returning an
// error instead would make go-imap/v2 stop reading while the server waits for
// an answer, and Authenticate would never return.
func (c *clientExchange) next(challenge []byte) ([]byte, error) {
	if c.answered {
		err := fmt.Errorf("oauthsasl: %s: challenge after the failure was answered: %w", c.mech, sasl.ErrUnexpectedServerChallenge)
		if c.failure != nil {
			err = fmt.Errorf("%w (%w)", err, c.failure)
		}
		return nil, err
	}
	// An empty first challenge is RFC 4422's request for the initial
	// response, which a protocol sends this way when it has no room for it
	// in the command (POP3's "AUTH XOAUTH2" then "+").
	if len(challenge) == 0 && !c.irAsked {
		c.irAsked = true
		return clone(c.ir), nil
	}
	c.answered = true
	if f, err := ParseFailure(challenge); err == nil {
		c.failure = f
	}
	// Never nil: go-smtp's client takes a nil response as "nothing more to
	// send" and reports success without reading the 535.
	return clone(c.answer), nil
}

func clone(b []byte) []byte { return append([]byte{}, b...) }
