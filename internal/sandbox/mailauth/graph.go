package mailauth

import "mailtokens/internal/sandbox/idp"

// What an HTTP mail API (the sandbox's Graph-like server) needs from the
// Directory. Such an API words its own refusals (HTTP status and JSON
// error per case), so it gets the facts instead of a Rejected.

// Introspect asks the identity provider about token.
func (d *Directory) Introspect(token string) idp.Introspection { return d.introspect(token) }

// HasFullAccess reports whether user (a token's username) may open
// mailbox: it is user's own, or user was granted Full Access to it
// (GrantFullAccess).
func (d *Directory) HasFullAccess(mailbox, user string) bool {
	mailbox, user = norm(mailbox), norm(user)
	if mailbox == user {
		return true
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.fullAccess[mailbox][user]
}
