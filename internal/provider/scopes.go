package provider

import (
	"net/url"
	"strings"
)

// Use is what a token is for; it picks the default scopes.
type Use string

// The mail protocols (and Exchange Web Services) a token can be used for.
const (
	IMAP Use = "imap"
	POP3 Use = "pop3"
	SMTP Use = "smtp"
	EWS  Use = "ews"
)

// Scopes a mail token needs.
const (
	MicrosoftIMAPScope = "https://outlook.office.com/IMAP.AccessAsUser.All"
	MicrosoftPOPScope  = "https://outlook.office.com/POP.AccessAsUser.All"
	MicrosoftSMTPScope = "https://outlook.office.com/SMTP.Send"
	// MicrosoftEWSScope is Exchange Web Services, which is retired in
	// Exchange Online: see EWSRetired.
	MicrosoftEWSScope     = "https://outlook.office.com/EWS.AccessAsUser.All"
	MicrosoftAppOnlyScope = "https://outlook.office365.com/.default"
	OfflineAccess         = "offline_access"
	GoogleMailScope       = "https://mail.google.com/"
	// Microsoft Graph's mail scopes (the GRAPH transport of batchmail and
	// evmail): a token is for Graph or for Exchange's IMAP/POP/SMTP,
	// never both (resources).
	MicrosoftGraphSendScope      = "https://graph.microsoft.com/Mail.Send"
	MicrosoftGraphReadWriteScope = "https://graph.microsoft.com/Mail.ReadWrite"
	MicrosoftGraphAppOnlyScope   = "https://graph.microsoft.com/.default"
	// The Gmail API's narrower scopes (the GMAIL_API transport): send
	// only, and read, label and trash (no permanent delete).
	GoogleGmailSendScope   = "https://www.googleapis.com/auth/gmail.send"
	GoogleGmailModifyScope = "https://www.googleapis.com/auth/gmail.modify"
)

// resources is the Microsoft resource a scope names ("" for one without:
// offline_access, openid, a bare Graph name like Mail.Send).
func resourceOf(scope string) string {
	u, err := url.Parse(scope)
	if err != nil || u.Scheme != "https" || u.Host == "" {
		return ""
	}
	return strings.ToLower(u.Host)
}

// MixedResources returns the resources (hosts) named by the scopes when
// there is more than one: Microsoft issues a token for one resource at a
// time and refuses such a request (AADSTS28000). outlook.office.com and
// outlook.office365.com are the same resource, Exchange Online.
func MixedResources(scope string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range splitScope(scope) {
		r := resourceOf(s)
		if r == "outlook.office365.com" {
			r = "outlook.office.com"
		}
		if r != "" && !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	if len(out) < 2 {
		return nil
	}
	return out
}

// EWSRetired says what becomes of Exchange Web Services in Exchange Online
// and what to use instead, in words for an admin.
const EWSRetired = "Exchange Online switches EWS off by default on 2026-10-01 and for good on 2027-04-01. Use Microsoft Graph instead (Mail.ReadWrite, Mail.Send)."

// DefaultScopes returns the scopes a token of type t needs for uses; with no
// uses, for receiving and sending mail (IMAP, POP3 and SMTP). Microsoft's
// are the worldwide cloud's; Config.Scopes moves them into the config's.
func DefaultScopes(t Type, uses ...Use) []string {
	switch t {
	case Google:
		// One scope covers IMAP, POP3 and SMTP at Google.
		return []string{GoogleMailScope}
	case Microsoft:
		if len(uses) == 0 {
			uses = []Use{IMAP, POP3, SMTP}
		}
		var out []string
		for _, u := range uses {
			switch u {
			case IMAP:
				out = append(out, MicrosoftIMAPScope)
			case POP3:
				out = append(out, MicrosoftPOPScope)
			case SMTP:
				out = append(out, MicrosoftSMTPScope)
			case EWS:
				out = append(out, MicrosoftEWSScope)
			}
		}
		return out
	}
	return nil
}

// splitScope splits what an admin typed: scopes separated by spaces, commas
// or new lines.
func splitScope(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool {
		return r == ' ' || r == ',' || r == '\t' || r == '\n' || r == '\r'
	})
}

// The OpenID scopes added to sign-ins at Microsoft and Google, so that the
// answer's ID token says who signed in (account.go). Microsoft sets
// preferred_username with profile and email with email; Google sets email
// with email.
var (
	microsoftOpenIDScopes = []string{"openid", "profile", "email"}
	googleOpenIDScopes    = []string{"openid", "email"}
)

// Scopes returns the scopes to request for delegated (user) access: the
// admin's list (or the type's default) with offline_access added for
// Microsoft, because without it no refresh token comes back, and the
// OpenID scopes for Microsoft and Google. Microsoft allows those beside one
// resource's scopes and leaves them out of the granted scope; refreshes
// send no scope and keep the grant's. Duplicates are dropped, so
// offline_access never appears twice. Other providers get the scopes as
// typed: add openid there to learn who signed in.
func (c Config) Scopes() []string {
	scopes := splitScope(c.Scope)
	if len(scopes) == 0 {
		scopes = DefaultScopes(c.Type)
		if c.Type == Microsoft {
			cl := c.cloud()
			for i, s := range scopes {
				scopes[i] = cl.scope(s)
			}
		}
	}
	switch c.Type {
	case Microsoft:
		scopes = append(append(scopes, OfflineAccess), microsoftOpenIDScopes...)
	case Google:
		scopes = append(scopes, googleOpenIDScopes...)
	}
	return dedupe(scopes)
}

// AppOnlyScopes returns the scopes for the client-credentials grant:
// Microsoft takes only "<resource>/.default" there and never offline_access
// (there is no refresh token without a user). A Google service account
// asks for the admin's scopes, or the mail scope, and no OpenID scopes.
func (c Config) AppOnlyScopes() []string {
	if c.ServiceAccountMode() {
		return c.ServiceAccountScopes()
	}
	var out []string
	for _, s := range splitScope(c.Scope) {
		if strings.HasSuffix(s, "/.default") {
			out = append(out, s)
		}
	}
	if len(out) == 0 && c.Type == Microsoft {
		out = []string{c.cloud().scope(MicrosoftAppOnlyScope)}
	}
	return dedupe(out)
}

// ServiceAccountScopes are the scopes a Google service account's grant
// asks for: the admin's, or the mail scope.
func (c Config) ServiceAccountScopes() []string {
	scopes := splitScope(c.Scope)
	if len(scopes) == 0 {
		scopes = DefaultScopes(Google)
	}
	return dedupe(scopes)
}

// AddsOfflineAccess reports whether Scopes adds offline_access by itself, so
// a form can say so instead of asking the admin to remember it.
func (c Config) AddsOfflineAccess() bool { return c.Type == Microsoft }

func dedupe(in []string) []string {
	seen := make(map[string]bool, len(in))
	out := in[:0:0]
	for _, s := range in {
		k := strings.ToLower(s)
		if seen[k] {
			continue
		}
		seen[k] = true
		out = append(out, s)
	}
	return out
}

// HasScope reports whether granted (a space-separated list, as providers
// return it) contains scope, comparing the way Microsoft does: case-insensitive.
func HasScope(granted, scope string) bool {
	for _, s := range splitScope(granted) {
		if strings.EqualFold(s, scope) {
			return true
		}
	}
	return false
}
