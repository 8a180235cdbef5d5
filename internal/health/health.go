// Package health turns a token's state into what people watching it need:
// a status in words, a level for its colour, the reason, and warnings about
// what will break soon (the refresh token's 90-day inactivity limit, Google's
// 7-day "Testing" tokens, a client secret about to expire). The web list,
// the command line and the metrics all show the same judgement.
package health

import (
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// Level is how worried to be.
type Level int

// The levels. Their order is the list's: tokens that need someone first.
const (
	Off     Level = iota // revoked: switched off on purpose
	OK                   // working
	Idle                 // not yet authorized: waits for Get Email Token
	Warning              // working, but flaky (refresh failing while the token lasts)
	Problem              // not working until someone acts
)

// Class is the level's name for CSS and JSON.
func (l Level) Class() string {
	switch l {
	case OK:
		return "ok"
	case Warning:
		return "warn"
	case Problem:
		return "bad"
	case Off:
		return "off"
	}
	return "idle"
}

// Report is the judgement on one token: both sides of its health, the
// provider's (can an access token be had?) and the mail servers' (do they
// accept it?).
type Report struct {
	Status   string // short words: "valid", "refresh failing", "mail server refuses it", …
	Level    Level  // follows the status only; warnings have their own marker
	Detail   string // why, and what to do
	Warnings []string
	Tasks    []TaskReport // the task files using the token, newest report first
	// Failing is how many tasks' logins fail now.
	Failing int
}

// silentWarnFor is how long a silent task is warned about: one gone for
// longer was most likely retired (it stays listed until the store forgets
// it).
const silentWarnFor = 7 * 24 * time.Hour

// noteStands is how long a task's note is shown after its worker last
// set it.
const noteStands = 7 * 24 * time.Hour

// Thresholds for warnings, which notifications share.
const (
	// Microsoft ends refresh tokens unused for 90 days; warn a month early.
	MSInactivityLimit = 90 * 24 * time.Hour
	MSInactivityWarn  = 60 * 24 * time.Hour
	// Warn this long before a stated refresh-token expiry or a client
	// secret's expiry date.
	RefreshExpiryWarn = 3 * 24 * time.Hour
	secretExpiryWarn  = 30 * 24 * time.Hour
)

// Of judges t, used by tasks, at now.
func Of(t *tokenstore.Token, tasks []tokenstore.TaskUse, now time.Time) Report {
	r := providerSide(t, now)
	for _, u := range tasks {
		tr := Task(u, now)
		r.Tasks = append(r.Tasks, tr)
		if tr.State == TaskFailing {
			r.Failing++
		}
	}
	if r.Failing > 0 && (t.Status == tokenstore.StatusValid || t.Status == tokenstore.StatusRefreshFailing) {
		r.mailSide(t, now)
	}
	for _, tr := range r.Tasks {
		if tr.Note != "" && now.Sub(tr.NoteAt) < noteStands {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s task %s on %s: %s", tr.Actor, tr.Task, tr.Host, tr.Note))
		}
		if tr.State == TaskSilent && t.Status != tokenstore.StatusRevoked && now.Sub(tr.LastSeen) < silentWarnFor {
			r.Warnings = append(r.Warnings, fmt.Sprintf("%s task %s on %s has not reported since %s: is its worker running?",
				tr.Actor, tr.Task, tr.Host, At(tr.LastSeen, now)))
		}
	}
	return r
}

// mailSide turns a report on a token the provider serves into one on a
// token the mail servers refuse, naming the first failing task's server,
// mailbox and reply.
func (r *Report) mailSide(t *tokenstore.Token, now time.Time) {
	var first TaskReport
	since := now
	for _, tr := range r.Tasks {
		if tr.State != TaskFailing {
			continue
		}
		if first.Task == "" {
			first = tr
		}
		if tr.FailingSince.Before(since) {
			since = tr.FailingSince
		}
	}
	tasks := "1 task"
	if r.Failing > 1 {
		tasks = fmt.Sprintf("%d tasks", r.Failing)
	}
	side := "valid at " + t.Type.Label()
	if t.Status == tokenstore.StatusRefreshFailing {
		side = "still valid at " + t.Type.Label() + " (refresh failing)"
	}
	r.Status = "mail server refuses it"
	r.Level = Problem
	r.Detail = fmt.Sprintf("%s, but %s fails for %s: %s (%s failing since %s). %s",
		upper(side), first.Server, first.User, first.LastReply, tasks, At(since, now), upper(tokenstore.MailSideAdvice))
}

func upper(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// providerSide judges the provider side of t at now.
func providerSide(t *tokenstore.Token, now time.Time) Report {
	var r Report
	switch t.Status {
	case tokenstore.StatusNew:
		r = Report{Status: "not yet authorized", Level: Idle,
			Detail: "Click Get Email Token to sign in with the mailbox account."}
	case tokenstore.StatusRevoked:
		r = Report{Status: "revoked", Level: Off,
			Detail: "Revoked by an admin. Click Get Email Token to authorize it again."}
	case tokenstore.StatusNeedsAuthorization:
		r = Report{Status: "needs authorization", Level: Problem, Detail: t.Explain()}
		if r.Detail == "" {
			r.Detail = "Click Get Email Token to sign in again."
		}
	case tokenstore.StatusRefreshFailing:
		r = Report{Status: "refresh failing", Level: Warning, Detail: t.Explain()}
		if !t.NextRefreshAt.IsZero() {
			r.Detail += fmt.Sprintf(" Next attempt %s.", When(t.NextRefreshAt, now))
		}
		if !t.Expiry.After(now) {
			r.Level = Problem
		}
	default:
		r = valid(t, now)
	}
	if t.Status == tokenstore.StatusValid || t.Status == tokenstore.StatusRefreshFailing {
		r.Warnings = append(r.Warnings, refreshWarnings(t, now)...)
	}
	if t.Status != tokenstore.StatusRevoked {
		for _, c := range Credentials(t) {
			on := c.ExpiresOn.Format(time.DateOnly)
			switch days := DaysUntil(c.ExpiresOn, now); {
			case days < 0:
				r.Warnings = append(r.Warnings, fmt.Sprintf("The %s expired on %s: %s.", c.What, on, c.Renew))
			case time.Duration(days)*24*time.Hour <= secretExpiryWarn:
				r.Warnings = append(r.Warnings, fmt.Sprintf("The %s expires %s (%s): before then, %s.", c.What, InDays(days), on, c.Renew))
			}
		}
	}
	return r
}

// Credential is a credential of the app that expires on a known date: the
// client secret (its date as the admin typed it), the certificate (its
// notAfter).
type Credential struct {
	What      string // "client secret", "certificate"
	ExpiresOn time.Time
	Renew     string // what to do, after "before then, …"
}

// Credentials lists t's credentials with a known expiry.
func Credentials(t *tokenstore.Token) []Credential {
	var out []Credential
	if !t.SecretExpiresOn.IsZero() {
		out = append(out, Credential{"client secret", t.SecretExpiresOn, "create a new one and save it here"})
	}
	if !t.KeyExpiresOn.IsZero() && t.HasClientKey {
		out = append(out, Credential{"certificate", t.KeyExpiresOn,
			"create a new one, upload it to the app registration (Certificates & secrets) and paste it with its key here"})
	}
	return out
}

func valid(t *tokenstore.Token, now time.Time) Report {
	switch {
	case t.Expiry.After(now):
		return Report{Status: "valid · expires " + When(t.Expiry, now), Level: OK}
	case t.HasRefreshToken || t.Grant.AppOnly():
		// Normal between uses: the next worker that asks refreshes it.
		return Report{Status: "valid · refreshed on next use", Level: OK}
	}
	return Report{Status: "expired", Level: Problem,
		Detail: "The access token expired and there is no refresh token to renew it: click Get Email Token."}
}

func refreshWarnings(t *tokenstore.Token, now time.Time) []string {
	var out []string
	if !t.RefreshExpiresAt.IsZero() {
		left := t.RefreshExpiresAt.Sub(now)
		if left <= RefreshExpiryWarn {
			msg := fmt.Sprintf("The refresh token expires %s.", When(t.RefreshExpiresAt, now))
			if t.Type == provider.Google {
				msg += " Google limits apps in \"Testing\" to 7-day tokens: set the OAuth consent screen's publishing status to \"In production\", then click Get Email Token."
			} else {
				msg += " Click Get Email Token before then."
			}
			out = append(out, msg)
		}
	}
	if t.Type == provider.Microsoft && t.HasRefreshToken {
		last := t.RefreshUsedAt
		if t.RefreshIssuedAt.After(last) {
			last = t.RefreshIssuedAt
		}
		if idle := now.Sub(last); !last.IsZero() && idle >= MSInactivityWarn {
			out = append(out, fmt.Sprintf("The refresh token has not been used for %d days; Microsoft ends it after 90 days without use (%s). Let a worker use the token, or click Refresh now.",
				int(idle.Hours()/24), When(last.Add(MSInactivityLimit), now)))
		}
	}
	return out
}

// DaysUntil is how many calendar days lie between now's date and date's
// (a date such as a secret's expiry, kept as midnight in its zone): 0 on
// the day itself, negative after it. Counting hours would say "in 3 days"
// on the 6th for the 10th.
func DaysUntil(date, now time.Time) int {
	y, m, d := now.In(date.Location()).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, date.Location())
	y, m, d = date.Date()
	day := time.Date(y, m, d, 0, 0, 0, 0, date.Location())
	return int(day.Sub(today).Round(24*time.Hour) / (24 * time.Hour))
}

// InDays says in words how far days is: "today", "tomorrow", "in 5 days".
func InDays(days int) string {
	switch days {
	case 0:
		return "today"
	case 1:
		return "tomorrow"
	}
	return fmt.Sprintf("in %d days", days)
}

// When says when t is, relative to now, in words: "in 42 min", "3 days
// ago", "now".
func When(t, now time.Time) string {
	d := t.Sub(now)
	if d > -30*time.Second && d < 30*time.Second {
		return "now"
	}
	future := d > 0
	if !future {
		d = -d
	}
	d = d.Round(time.Minute)
	var s string
	switch {
	case d < time.Hour:
		s = fmt.Sprintf("%d min", int(d.Minutes()))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 || h >= 10 {
			s = fmt.Sprintf("%d h", h)
		} else {
			s = fmt.Sprintf("%d h %d min", h, m)
		}
	default:
		s = fmt.Sprintf("%d days", int(d.Hours()/24))
	}
	if future {
		return "in " + s
	}
	return s + " ago"
}

// At is when t was, for people: "10:02 UTC" today, "2026-12-05 10:02 UTC"
// on other days, in the server's time zone, which it always names.
func At(t, now time.Time) string {
	if t.IsZero() {
		return "never"
	}
	t = t.Local()
	if y, m, d := t.Date(); y == now.Local().Year() && m == now.Local().Month() && d == now.Local().Day() {
		return t.Format("15:04 MST")
	}
	return t.Format("2006-01-02 15:04 MST")
}
