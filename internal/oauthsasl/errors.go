package oauthsasl

import (
	"errors"
	"fmt"
)

// ErrMalformed is wrapped by every error about a message that does not follow
// the mechanism's syntax, so that protocol servers can answer BAD / 501
// rather than NO / 535.
var ErrMalformed = errors.New("malformed message")

// ErrAuthFailed is wrapped by *AuthError, the error a server mechanism ends
// with after the authenticator rejected the credentials. Protocol servers map
// it to NO [AUTHENTICATIONFAILED] / 535 5.7.8 / -ERR.
var ErrAuthFailed = errors.New("authentication failed")

// AuthError is what a server mechanism's Next returns once the failure
// exchange is over: the authenticator rejected the credentials, the server
// sent Failure as a challenge and the client answered it.
type AuthError struct {
	// Mechanism is XOAUTH2 or OAUTHBEARER.
	Mechanism string
	// User is the user= (XOAUTH2) or a= (OAUTHBEARER) value the client sent;
	// it may be empty for OAUTHBEARER.
	User string
	// Failure is the challenge that was sent to the client.
	Failure *Failure
	// Err is the error the authenticator returned; it holds a *Failure.
	Err error
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("oauthsasl: %s login as %q: %v", e.Mechanism, e.User, e.Err)
}

// Unwrap lets errors.Is find ErrAuthFailed and errors.As find the
// authenticator's own error types.
func (e *AuthError) Unwrap() []error { return []error{ErrAuthFailed, e.Err} }

// malformed builds an ErrMalformed error. Reasons must never quote a token:
// these errors end up in logs and protocol replies.
func malformed(what, reason string) error {
	return fmt.Errorf("oauthsasl: %s: %w: %s", what, ErrMalformed, reason)
}
