// Package mailauth decides who may log in to the sandbox's mail servers,
// the way Exchange Online and Gmail decide it: a bearer token must be live
// at the identity provider, be meant for mail (the right audience and the
// protocol's scope), and belong to the mailbox's owner or to someone with
// full access to it (shared mailboxes). Passwords are kept for the PASSWORD
// login that workers also support.
package mailauth

import (
	"errors"
	"fmt"
	"strings"
	"sync"

	"mailtokens/internal/oauthsasl"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
)

// Protocol is the mail protocol asking.
type Protocol string

// The protocols.
const (
	IMAP Protocol = "imap"
	POP3 Protocol = "pop3"
	SMTP Protocol = "smtp"
)

// Rejected says why a login was refused. Servers turn it into their
// protocol's answer in the style of the service they imitate (Microsoft's
// bare "NO AUTHENTICATE failed." or Gmail's JSON challenge); Reason is for
// logs and tests, never sent to the client as is.
type Rejected struct {
	Reason string
	// SMTPAuthDisabled: Exchange Online's "535 5.7.139 Authentication
	// unsuccessful, SmtpClientAuthentication is disabled for the Mailbox".
	SMTPAuthDisabled bool
	// Scope is the scope the server would name in a failure challenge.
	Scope string
}

func (r *Rejected) Error() string { return "login refused: " + r.Reason }

// GmailFailure is the challenge Gmail's IMAP and SMTP servers answer a
// refused token with: for XOAUTH2 status 401 and the bearer scheme, for
// OAUTHBEARER (as seen from Gmail) an RFC 6750 error code and no schemes;
// both name the mail scope.
func GmailFailure(mech string, r *Rejected) error {
	scope := r.Scope
	if scope == "" {
		scope = googleMailScope
	}
	if mech == oauthsasl.OAUTHBEARER {
		return &oauthsasl.Failure{Status: "invalid_request", Scope: scope}
	}
	return &oauthsasl.Failure{Status: "401", Schemes: "bearer", Scope: scope}
}

// ErrRejected matches every *Rejected.
var ErrRejected = errors.New("login refused")

// Is makes errors.Is(err, ErrRejected) work.
func (r *Rejected) Is(target error) bool { return target == ErrRejected }

// Directory holds the sandbox's mailboxes and who may open them.
type Directory struct {
	introspect func(token string) idp.Introspection

	mu           sync.Mutex
	passwords    map[string]string          // mailbox -> password
	fullAccess   map[string]map[string]bool // mailbox -> users with full access
	smtpDisabled map[string]bool
	appAccess    map[string]bool // mailboxes an app-only token may open (Exchange service principal access)
}

// New returns a directory that checks tokens with introspect (usually
// (*idp.Server).Introspect).
func New(introspect func(token string) idp.Introspection) *Directory {
	return &Directory{
		introspect:   introspect,
		passwords:    map[string]string{},
		fullAccess:   map[string]map[string]bool{},
		smtpDisabled: map[string]bool{},
		appAccess:    map[string]bool{},
	}
}

func norm(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// SetPassword lets mailbox log in with a password.
func (d *Directory) SetPassword(mailbox, password string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.passwords[norm(mailbox)] = password
}

// GrantFullAccess lets user's tokens open mailbox (a shared mailbox).
func (d *Directory) GrantFullAccess(mailbox, user string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	m := d.fullAccess[norm(mailbox)]
	if m == nil {
		m = map[string]bool{}
		d.fullAccess[norm(mailbox)] = m
	}
	m[norm(user)] = true
}

// GrantAppAccess lets app-only (client credentials) tokens open mailbox,
// as an Exchange admin does with Add-MailboxPermission for the app's
// service principal.
func (d *Directory) GrantAppAccess(mailbox string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.appAccess[norm(mailbox)] = true
}

// DisableSMTPAuth turns SMTP AUTH off for mailbox — Exchange Online's
// default for new mailboxes.
func (d *Directory) DisableSMTPAuth(mailbox string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.smtpDisabled[norm(mailbox)] = true
}

// Password checks a password login.
func (d *Directory) Password(proto Protocol, mailbox, password string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if proto == SMTP && d.smtpDisabled[norm(mailbox)] {
		return &Rejected{Reason: "SMTP AUTH is disabled for " + mailbox, SMTPAuthDisabled: true}
	}
	want, ok := d.passwords[norm(mailbox)]
	if !ok || want == "" || want != password {
		return &Rejected{Reason: "wrong password for " + mailbox}
	}
	return nil
}

// delegated and app-only permissions per protocol (Exchange Online).
var (
	delegatedScope = map[Protocol]string{IMAP: "IMAP.AccessAsUser.All", POP3: "POP.AccessAsUser.All", SMTP: "SMTP.Send"}
	appRole        = map[Protocol]string{IMAP: "IMAP.AccessAsApp", POP3: "POP.AccessAsApp", SMTP: "SMTP.SendAsApp"}
)

const googleMailScope = "https://mail.google.com/"

// Bearer checks an XOAUTH2 / OAUTHBEARER login to mailbox with token.
func (d *Directory) Bearer(proto Protocol, mailbox, token string) error {
	in := d.introspect(token)
	if !in.Active {
		return &Rejected{Reason: "token unknown, expired or revoked"}
	}
	mailbox = norm(mailbox)
	d.mu.Lock()
	defer d.mu.Unlock()
	switch in.Provider {
	case provider.Google:
		if !hasScope(in.Scope, googleMailScope) {
			return &Rejected{Reason: "token lacks " + googleMailScope, Scope: googleMailScope}
		}
		if in.Username != mailbox {
			return &Rejected{Reason: fmt.Sprintf("token of %s cannot open %s", in.Username, mailbox), Scope: googleMailScope}
		}
	case provider.Microsoft:
		if !strings.Contains(in.Audience, "outlook.office") {
			return &Rejected{Reason: "token is for " + in.Audience + ", not Exchange Online"}
		}
		if in.AppOnly {
			if !hasScope(in.Scope, appRole[proto]) {
				return &Rejected{Reason: "app-only token lacks the " + appRole[proto] + " role"}
			}
			if !d.appAccess[mailbox] {
				return &Rejected{Reason: "the app's service principal has no access to " + mailbox}
			}
		} else {
			if !hasScope(in.Scope, delegatedScope[proto]) {
				return &Rejected{Reason: "token lacks " + delegatedScope[proto]}
			}
			if in.Username != mailbox && !d.fullAccess[mailbox][in.Username] {
				return &Rejected{Reason: fmt.Sprintf("%s has no full access to %s", in.Username, mailbox)}
			}
		}
		if proto == SMTP && d.smtpDisabled[mailbox] {
			return &Rejected{Reason: "SMTP AUTH is disabled for " + mailbox, SMTPAuthDisabled: true}
		}
	default:
		return &Rejected{Reason: "token of an unknown provider"}
	}
	return nil
}

func hasScope(scopes, want string) bool {
	for _, s := range strings.Fields(scopes) {
		if strings.EqualFold(s, want) {
			return true
		}
	}
	return false
}
