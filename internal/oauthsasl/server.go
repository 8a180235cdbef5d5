package oauthsasl

import (
	"errors"
	"fmt"

	"github.com/emersion/go-sasl"
)

type serverState int

const (
	serverStart    serverState = iota
	serverIRAsked              // sent an empty challenge to ask for the initial response
	serverRejected             // sent a failure challenge, waiting for the dummy answer
	serverDone
)

// serverExchange is the state machine both server mechanisms share; C is
// what the mechanism's initial response decodes to.
type serverExchange[C any] struct {
	mech     string
	parse    func([]byte) (C, error)
	user     func(C) string
	auth     func(C) error
	rejected Failure // sent when the authenticator's Failure has no status

	state  serverState
	failed *AuthError
}

// next runs one step of the exchange:
//
//   - No or an empty response before the initial response: ask for it with
//     an empty challenge (RFC 4422 section 5), once.
//   - A malformed initial response: done, with an error wrapping
//     ErrMalformed and no failure challenge, because there is nothing the
//     client could correct by reading one.
//   - A rejected token: the failure JSON as the challenge; whatever the
//     client answers (RFC 7628 says 0x01, Gmail's XOAUTH2 says empty), the
//     exchange then ends with *AuthError. Being strict about the dummy answer
//     would only change which error the client sees.
func (s *serverExchange[C]) next(response []byte) ([]byte, bool, error) {
	switch s.state {
	case serverDone:
		return nil, true, fmt.Errorf("oauthsasl: %s: %w", s.mech, sasl.ErrUnexpectedClientResponse)
	case serverRejected:
		s.state = serverDone
		return nil, true, s.failed
	case serverStart:
		if len(response) == 0 {
			s.state = serverIRAsked
			// nil, not empty: go-imap/v2's server writes an empty challenge
			// as "+ =", a nil one as the usual "+ ".
			return nil, false, nil
		}
	}
	s.state = serverDone
	creds, err := s.parse(response)
	if err != nil {
		return nil, true, err
	}
	err = s.auth(creds)
	if err == nil {
		return nil, true, nil
	}
	var f *Failure
	if !errors.As(err, &f) {
		return nil, true, err
	}
	sent := s.rejected
	if f != nil && f.Status != "" {
		sent = *f
	}
	s.failed = &AuthError{Mechanism: s.mech, User: s.user(creds), Failure: &sent, Err: err}
	s.state = serverRejected
	return sent.marshal(), false, nil
}

// MapErrors wraps a server mechanism so that every error it ends with goes
// through f first. Protocol servers need this because they recognise their
// own error types only: go-smtp sends an *smtp.SMTPError's code only if Next
// returns exactly that type, and go-imap/v2 turns anything that is not an
// *imap.Error into "NO internal server error". A typical f maps ErrAuthFailed
// to 535 5.7.8 and ErrMalformed to 501.
func MapErrors(s sasl.Server, f func(error) error) sasl.Server {
	return errorMapper{s, f}
}

type errorMapper struct {
	s sasl.Server
	f func(error) error
}

func (m errorMapper) Next(response []byte) ([]byte, bool, error) {
	challenge, done, err := m.s.Next(response)
	if err != nil {
		err = m.f(err)
	}
	return challenge, done, err
}
