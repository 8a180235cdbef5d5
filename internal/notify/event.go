package notify

import (
	"bytes"
	"fmt"
	"strings"
	"time"

	"github.com/wneessen/go-mail"
)

// The events.
const (
	EventProblem = "problem" // a problem opened, or is still open a day later
	EventSolved  = "solved"  // a problem admins were told about has cleared
	// EventClosed: a problem admins were told about is no longer watched
	// because an admin revoked the token — not solved: its mail stops.
	EventClosed = "closed"
	EventTest   = "test" // `evadmin notify test`
)

// Event is the JSON document the command and the webhook receive, and what
// the email says. Field names are stable; no secret is ever in it.
type Event struct {
	Event    string `json:"event"` // EventProblem, EventSolved, EventClosed or EventTest
	Token    string `json:"token"` // the token's name
	Email    string `json:"email,omitempty"`
	Problem  string `json:"problem"`         // NeedsAuthorization, MailFailing, ...
	Stage    string `json:"stage,omitempty"` // SecretExpiry's and KeyExpiry's "30d", "7d", "1d", "expired"
	Summary  string `json:"summary"`
	Detail   string `json:"detail,omitempty"`
	WhatToDo string `json:"what_to_do,omitempty"`
	URL      string `json:"url"`   // the token's page
	Since    string `json:"since"` // RFC 3339, UTC: when the problem began
	At       string `json:"at"`    // RFC 3339, UTC: when this was decided
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Truncate(time.Second).Format(time.RFC3339)
}

// Subject is the email's subject line.
func (e *Event) Subject() string {
	switch e.Event {
	case EventSolved:
		return fmt.Sprintf("[mailtokens] solved: %s: %s", e.Token, e.Summary)
	case EventClosed:
		return fmt.Sprintf("[mailtokens] closed: %s: %s", e.Token, e.Summary)
	case EventTest:
		return "[mailtokens] test notification"
	}
	return fmt.Sprintf("[mailtokens] %s: %s", e.Token, e.Summary)
}

// Text is the email's body: plain text, for people.
func (e *Event) Text() string {
	var b strings.Builder
	switch e.Event {
	case EventSolved:
		fmt.Fprintf(&b, "Solved: the token %q no longer has this problem.\n\n", e.Token)
	case EventClosed:
		fmt.Fprintf(&b, "Closed, not solved: the token %q is no longer watched.\n\n", e.Token)
	case EventTest:
		b.WriteString("This is a test notification from evadmin: this channel works.\n\n")
	default:
		fmt.Fprintf(&b, "The token %q needs a person.\n\n", e.Token)
	}
	fmt.Fprintf(&b, "Problem:     %s\n", e.Summary)
	if e.Email != "" {
		fmt.Fprintf(&b, "Mailbox:     %s\n", e.Email)
	}
	if e.Since != "" {
		fmt.Fprintf(&b, "Since:       %s\n", e.Since)
	}
	if e.URL != "" {
		fmt.Fprintf(&b, "Token page:  %s\n", e.URL)
	}
	if e.Detail != "" {
		fmt.Fprintf(&b, "\n%s\n", e.Detail)
	}
	if e.WhatToDo != "" && e.Event == EventProblem {
		fmt.Fprintf(&b, "\nWhat to do: %s\n", e.WhatToDo)
	}
	b.WriteString("\n-- \nevadmin (Access Tokens for 3rd Party Email Services). Each problem is told at most once a day while it lasts, and once when it is solved.\n")
	return b.String()
}

// Message is the email, RFC 5322 with CRLF line ends, ready for SMTP.
func (e *Event) Message(from string, to []string, date time.Time) ([]byte, error) {
	// 8bit, as batchmail sends what applications queue: readable in any
	// mail client's source view and in the sample, and every
	// submission server of the providers takes it (8BITMIME).
	m := mail.NewMsg(mail.WithNoDefaultUserAgent(), mail.WithEncoding(mail.NoEncoding))
	if err := m.From(from); err != nil {
		return nil, fmt.Errorf("compose the notification: From %q: %w", from, err)
	}
	if err := m.To(to...); err != nil {
		return nil, fmt.Errorf("compose the notification: To %v: %w", to, err)
	}
	m.Subject(e.Subject())
	m.SetDateWithValue(date)
	m.SetMessageID()
	m.SetGenHeader("Auto-Submitted", "auto-generated")
	m.SetBodyString(mail.TypeTextPlain, wrap(e.Text(), 76))
	var buf bytes.Buffer
	if _, err := m.WriteTo(&buf); err != nil {
		return nil, fmt.Errorf("compose the notification: %w", err)
	}
	return buf.Bytes(), nil
}

// wrap breaks lines longer than width at spaces (SMTP allows 998 bytes a
// line; people read 76).
func wrap(text string, width int) string {
	var b strings.Builder
	for i, line := range strings.Split(text, "\n") {
		if i > 0 {
			b.WriteByte('\n')
		}
		for len(line) > width {
			cut := strings.LastIndexByte(line[:width+1], ' ')
			if cut <= 0 {
				break
			}
			b.WriteString(line[:cut])
			b.WriteByte('\n')
			line = line[cut+1:]
		}
		b.WriteString(line)
	}
	return b.String()
}
