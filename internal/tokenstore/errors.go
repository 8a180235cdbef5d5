package tokenstore

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/advice"
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
		return "no token name given and no default token is set"
	}
	msg := fmt.Sprintf("no token named %q in the store", e.Name)
	if len(e.Known) == 0 {
		return msg + " (the store has no tokens yet)"
	}
	return msg + " (tokens: " + strings.Join(e.Known, ", ") + ")"
}

// Advice says how to name a token that exists.
func (e *NotFoundError) Advice() (string, advice.Kind) {
	switch {
	case e.Name == "":
		return "Name a token, or mark one as the default in evadmin.", advice.Misconfigured
	case len(e.Known) == 0:
		return "Add the token in evadmin first.", advice.Misconfigured
	}
	return "Use one of the names listed, or add the token in evadmin.", advice.Misconfigured
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
		return fmt.Sprintf("token %q has not been authorized yet: no one has signed in for it with Get Email Token", e.Name)
	case StatusRevoked:
		return fmt.Sprintf("token %q was revoked", e.Name)
	}
	if e.Cause != nil {
		return fmt.Sprintf("token %q needs authorization: %v", e.Name, e.Cause)
	}
	return fmt.Sprintf("token %q needs authorization", e.Name)
}

// Advice: a person must act before the token gives access tokens again.
// The provider's refusal, when there was one, says what to do.
func (e *NeedsAuthorizationError) Advice() (string, advice.Kind) {
	switch {
	case e.Status == StatusNew:
		return fmt.Sprintf("An admin must click Get Email Token for it in evadmin (or run: evadmin token login %q).", e.Name), advice.Reauthorize
	case e.Status == StatusRevoked:
		return "An admin must click Get Email Token for it in evadmin to authorize it again.", advice.Reauthorize
	case e.Cause != nil:
		return "", advice.Reauthorize
	}
	return "An admin must click Get Email Token for it in evadmin.", advice.Reauthorize
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
	return fmt.Sprintf("token %q could not be refreshed (%v); retrying after %s", e.Name,
		e.Cause, e.RetryAt.Format(time.TimeOnly))
}

func (e *RefreshFailingError) Unwrap() error { return e.Cause }

// Advice: waiting may help; the provider's error says what to check.
func (e *RefreshFailingError) Advice() (string, advice.Kind) { return "", advice.Temporary }

// RefusedError means a mail server refused an access token that the
// provider issued lately, after an earlier refusal had already forced a
// refresh: another refresh would not cure it, so the provider is not asked.
// The problem is on the mail side (the mailbox, the protocol being enabled,
// the app's permissions); the token's status is unchanged.
type RefusedError struct {
	Name string
	// ForcedAt is when a refusal last forced a refresh.
	ForcedAt time.Time
	// RetryAt is when a refusal may force a refresh again. Zero: not until
	// the token nears expiry or an admin acts on it, because the token
	// refused is the one that refresh got.
	RetryAt time.Time
}

func (e *RefusedError) Error() string {
	if e.RetryAt.IsZero() {
		return fmt.Sprintf("token %q: the mail server refuses the access token refreshed at %s because of an earlier refusal; "+
			"not refreshing it again until it nears expiry or an admin acts", e.Name, e.ForcedAt.Format(time.TimeOnly))
	}
	return fmt.Sprintf("token %q: the mail server refuses the access token; a refusal forced a refresh at %s, "+
		"the next may not before %s", e.Name, e.ForcedAt.Format(time.TimeOnly), e.RetryAt.Format(time.TimeOnly))
}

// Advice: the mail side must be fixed; the token itself is fine.
func (e *RefusedError) Advice() (string, advice.Kind) {
	return "The mail server refuses a token the provider just issued, so the token is not the problem: " + MailSideAdvice, advice.Misconfigured
}

// MailSideAdvice is what to check when the provider issues access tokens
// and a mail server refuses them.
const MailSideAdvice = "check the task's mailbox user (a shared mailbox needs Full Access for the token's account), " +
	"that IMAP, POP or SMTP AUTH is enabled for the mailbox, and the app's permissions."
