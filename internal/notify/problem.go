package notify

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"mailtokens/internal/health"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// The problems admins are told about, as the JSON's "problem" names them.
// Stored; never renamed.
const (
	NeedsAuthorization = "needs_authorization" // a person must sign in again or fix the app
	MailFailing        = "mail_failing"        // a task's logins have failed for longer than the grace period
	SecretExpiry       = "secret_expiry"       // the client secret expires within 30 days, or has
	KeyExpiry          = "key_expiry"          // the certificate (certificate credentials) expires within 30 days, or has
	RefreshExpiring    = "refresh_expiring"    // the provider said when the refresh token dies (Google "Testing"), and it is soon
	RefreshIdle        = "refresh_idle"        // Microsoft ends refresh tokens unused for 90 days
)

// Problem is one thing about a token that needs a person.
type Problem struct {
	Kind string // one of the constants above
	// Stage tells a worse state of the same problem: the client secret's
	// "30d", "7d", "1d", "expired". A new stage is told at once.
	Stage    string
	Summary  string // one line
	Detail   string // what exactly, with the server's or provider's words
	WhatToDo string
	Since    time.Time
	// Daily: told again every 24 hours while open. The secret's early
	// stages are told once each instead (30 daily reminders help nobody).
	Daily bool
}

// Find lists t's problems at now. tasks are the task files using t; a
// task whose logins have failed for grace or longer is a problem (see
// health.TaskReport.LoginsFailing).
// Tokens not yet authorized or revoked by an admin have none but the
// client secret's expiry (revoked: none at all).
func Find(t *tokenstore.Token, tasks []tokenstore.TaskUse, now time.Time, grace time.Duration) []Problem {
	var out []Problem
	if t.Status == tokenstore.StatusRevoked {
		return nil
	}
	if t.Status == tokenstore.StatusNeedsAuthorization {
		p := Problem{Kind: NeedsAuthorization, Summary: "needs authorization", Daily: true,
			Detail:   t.Explain(),
			WhatToDo: "Open the token's page and click Get Email Token to sign in with the mailbox account; until then the workers using it cannot log in.",
			Since:    t.LastError.At}
		if p.Detail == "" {
			p.Detail = "The token cannot be refreshed without a person signing in again."
		}
		if p.Since.IsZero() {
			p.Since = t.UpdatedAt
		}
		out = append(out, p)
	}
	if p, ok := mailFailing(tasks, now, grace); ok {
		out = append(out, p)
	}
	if p, ok := secretExpiry(t, now); ok {
		out = append(out, p)
	}
	if p, ok := keyExpiry(t, now); ok {
		out = append(out, p)
	}
	if t.Status == tokenstore.StatusValid || t.Status == tokenstore.StatusRefreshFailing {
		out = append(out, refreshDying(t, now)...)
	}
	return out
}

func mailFailing(tasks []tokenstore.TaskUse, now time.Time, grace time.Duration) (Problem, bool) {
	var failing []tokenstore.TaskUse
	for _, u := range tasks {
		if health.Task(u, now).LoginsFailing() && now.Sub(u.FailingSince) >= grace {
			failing = append(failing, u)
		}
	}
	if len(failing) == 0 {
		return Problem{}, false
	}
	sort.Slice(failing, func(i, j int) bool { return failing[i].FailingSince.Before(failing[j].FailingSince) })
	first := failing[0]
	var lines []string
	for _, u := range failing {
		lines = append(lines, fmt.Sprintf("%s task %s on %s (pid %d): login to %s as %s failing since %s (%d failed logins); last reply: %s",
			u.Actor, u.Task, u.Host, u.PID, u.Server, u.User, u.FailingSince.UTC().Format(time.RFC3339), u.Failures, oneLine(u.LastReply)))
	}
	summary := fmt.Sprintf("refused by %s for %s", first.Server, first.User)
	if len(failing) > 1 {
		summary += fmt.Sprintf(" (%d tasks failing)", len(failing))
	}
	return Problem{Kind: MailFailing, Summary: summary, Daily: true, Since: first.FailingSince,
		Detail: strings.Join(lines, "\n"),
		WhatToDo: "The provider still issues tokens; the mail server refuses the login. Check the task file's user (the mailbox), " +
			"that the signed-in account may use that mailbox, and that IMAP/POP3/SMTP AUTH is enabled for it. The token's page shows each task's last reply."}, true
}

func secretExpiry(t *tokenstore.Token, now time.Time) (Problem, bool) {
	return expiry(SecretExpiry, "client secret", t.SecretExpiresOn, now,
		"Create a new client secret in the app registration, then save it (and its expiry date) on the token's Edit page.")
}

// keyExpiry is the certificate's expiry (certificate credentials), told
// like the client secret's.
func keyExpiry(t *tokenstore.Token, now time.Time) (Problem, bool) {
	if !t.HasClientKey {
		return Problem{}, false
	}
	return expiry(KeyExpiry, "certificate", t.KeyExpiresOn, now,
		"Create a new certificate, upload it to the app registration (Certificates & secrets > Certificates), then paste it with its private key on the token's Edit page.")
}

// expiry is the problem of a credential (what) that expires on on: in 30,
// 7 and 1 days, and once it has.
func expiry(kind, what string, expiresOn, now time.Time, whatToDo string) (Problem, bool) {
	if expiresOn.IsZero() {
		return Problem{}, false
	}
	days := health.DaysUntil(expiresOn, now)
	on := expiresOn.Format(time.DateOnly)
	p := Problem{Kind: kind, Since: now, WhatToDo: whatToDo}
	switch {
	case days < 0:
		p.Stage, p.Daily = "expired", true
		p.Summary = what + " expired on " + on
		p.Detail = "The provider refuses the " + what + " since " + on + ": the token cannot be refreshed, and sign-ins fail."
		p.Since = expiresOn
	case days <= 1:
		p.Stage = "1d"
	case days <= 7:
		p.Stage = "7d"
	case days <= 30:
		p.Stage = "30d"
	default:
		return Problem{}, false
	}
	if p.Stage != "expired" {
		p.Summary = fmt.Sprintf("%s expires %s (%s)", what, health.InDays(days), on)
		p.Detail = "After " + on + " the provider refuses the " + what + ": the token can no longer be refreshed, and the workers stop when the access token runs out."
		p.Since = expiresOn.AddDate(0, 0, -30)
	}
	return p, true
}

func refreshDying(t *tokenstore.Token, now time.Time) []Problem {
	var out []Problem
	if !t.RefreshExpiresAt.IsZero() && t.RefreshExpiresAt.Sub(now) <= health.RefreshExpiryWarn {
		p := Problem{Kind: RefreshExpiring, Daily: true, Since: t.RefreshExpiresAt.Add(-health.RefreshExpiryWarn),
			Summary:  "refresh token expires " + t.RefreshExpiresAt.UTC().Format(time.RFC3339),
			Detail:   "The provider said the refresh token ends at " + t.RefreshExpiresAt.UTC().Format(time.RFC3339) + "; after that the token needs a person.",
			WhatToDo: "Click Get Email Token on the token's page before then."}
		if t.Type == provider.Google {
			p.Detail += " Google limits apps whose OAuth consent screen is in \"Testing\" to 7-day tokens."
			p.WhatToDo = "Set the OAuth consent screen's publishing status to \"In production\" in Google Cloud, then click Get Email Token on the token's page."
		}
		out = append(out, p)
	}
	if t.Type == provider.Microsoft && t.HasRefreshToken {
		last := t.RefreshUsedAt
		if t.RefreshIssuedAt.After(last) {
			last = t.RefreshIssuedAt
		}
		if !last.IsZero() && now.Sub(last) >= health.MSInactivityWarn {
			out = append(out, Problem{Kind: RefreshIdle, Daily: true, Since: last.Add(health.MSInactivityWarn),
				Summary: fmt.Sprintf("refresh token unused for %d days", int(now.Sub(last).Hours()/24)),
				Detail: fmt.Sprintf("Microsoft ends refresh tokens unused for 90 days; this one was last used %s and ends %s.",
					last.UTC().Format(time.RFC3339), last.Add(health.MSInactivityLimit).UTC().Format(time.RFC3339)),
				WhatToDo: "Click Refresh now on the token's page (or let a worker use the token)."})
		}
	}
	return out
}

// oneLine joins a multi-line server reply for a summary line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
