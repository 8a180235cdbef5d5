package tokenstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// ErrNotFound matches every *NotFoundError.
var ErrNotFound = errors.New("token not found")

// NotFoundError says a name is unknown and lists the names that exist, so
// an operator can fix a typo in a task file.
type NotFoundError struct {
	Name  string
	Known []string
}

func (e *NotFoundError) Error() string {
	if e.Name == "" {
		return "no token name given and no default token is set: name one, or mark a token as default in evadmin"
	}
	msg := fmt.Sprintf("no token named %q in the store", e.Name)
	if len(e.Known) == 0 {
		return msg + " (the store has no tokens yet: add one in evadmin)"
	}
	return msg + " (tokens: " + strings.Join(e.Known, ", ") + ")"
}

// Is makes errors.Is(err, ErrNotFound) work.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// ErrDuplicateName is returned when a token name is taken.
var ErrDuplicateName = errors.New("a token with this name already exists")

// NeedsAuthorizationError means no access token can be had until a person
// acts: the token was never authorized, was revoked, or the provider refused
// the refresh for good.
type NeedsAuthorizationError struct {
	Name   string
	Status Status
	// Cause is the provider's refusal, when there was one.
	Cause *provider.Error
}

func (e *NeedsAuthorizationError) Error() string {
	switch e.Status {
	case StatusNew:
		return fmt.Sprintf("token %q has not been authorized yet: an admin must click Get Email Token for it in evadmin (or run: evadmin token login %q)", e.Name, e.Name)
	case StatusRevoked:
		return fmt.Sprintf("token %q was revoked: an admin must click Get Email Token for it in evadmin to authorize it again", e.Name)
	}
	if e.Cause != nil {
		return fmt.Sprintf("token %q needs authorization: %s", e.Name, e.Cause.Explain())
	}
	return fmt.Sprintf("token %q needs authorization: an admin must click Get Email Token for it in evadmin", e.Name)
}

func (e *NeedsAuthorizationError) Unwrap() error {
	if e.Cause == nil {
		return nil
	}
	return e.Cause
}

// RefreshFailingError means the access token ran out and refreshing it
// failed for a reason that may pass (network, provider outage). The refresh
// token is kept; try again after RetryAt.
type RefreshFailingError struct {
	Name    string
	Cause   error
	RetryAt time.Time
}

func (e *RefreshFailingError) Error() string {
	return fmt.Sprintf("token %q could not be refreshed (%s); retrying after %s", e.Name,
		provider.Explain(e.Cause), e.RetryAt.Format(time.TimeOnly))
}

func (e *RefreshFailingError) Unwrap() error { return e.Cause }

// Temporary reports that waiting may help.
func (e *RefreshFailingError) Temporary() bool { return true }

// IsTemporary reports whether err is a failure that may pass without
// anyone acting.
func IsTemporary(err error) bool {
	var rf *RefreshFailingError
	return errors.As(err, &rf)
}
