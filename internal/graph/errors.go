package graph

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/advice"
)

// Error is a request Graph did not accept, or could not be sent.
type Error struct {
	Op      string // "send", "delta", "fetch", "mark read", "move", "delete", "find folder"
	Mailbox string
	// Status is the HTTP status; 0 when no answer came (Err says why).
	Status  int
	Code    string // Graph's error code, e.g. "ErrorAccessDenied"
	Message string // Graph's message
	Body    string // the answer as it came, for failed/ beside a message
	// RetryAfter is the server's Retry-After, 0 if none.
	RetryAfter time.Duration
	// Err is the network error, or why the token was not refreshed after
	// a 401.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "graph %s", e.Op)
	if e.Mailbox != "" {
		fmt.Fprintf(&b, " for %s", e.Mailbox)
	}
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, ": %s", e.Reply())
	case e.Code != "":
		fmt.Fprintf(&b, ": %s: %s", e.Code, e.Message)
	}
	if e.Err != nil {
		fmt.Fprintf(&b, ": %v", e.Err)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Reply is the answer in one line: "403 ErrorAccessDenied: Access is denied…".
func (e *Error) Reply() string {
	s := fmt.Sprintf("%d", e.Status)
	if e.Code != "" {
		s += " " + e.Code
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	if e.Status == 0 && e.Err != nil {
		s = e.Err.Error()
	}
	return s
}

// Temporary: throttled (429), unavailable (502, 503, 504), a server error
// (500) or no answer at all: try again later, after RetryAfter if given.
func (e *Error) Temporary() bool {
	switch {
	case e.Status == 0:
		return e.Code == "" || e.Code == "BadAnswer"
	case e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	}
	return false
}

// ResyncRequired says a delta link is no longer valid (410 Gone,
// SyncStateNotFound): read the folder from the start.
func ResyncRequired(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Status == http.StatusGone || strings.EqualFold(e.Code, "SyncStateNotFound") ||
		strings.EqualFold(e.Code, "SyncStateInvalid") || strings.EqualFold(e.Code, "resyncRequired"))
}

// Advice says in plain words what the common refusals mean.
func (e *Error) Advice() (string, advice.Kind) {
	msg := strings.ToLower(e.Message)
	switch {
	case e.Temporary():
		return "Graph is busy or unreachable; the worker tries again later (after Retry-After when Graph gives one).", advice.Temporary
	case e.Code == "LinkOffGraph":
		return "The server's answer pointed outside Microsoft Graph: check the token's cloud (Graph's address) and any proxy in between.", advice.Misconfigured
	case e.Status == http.StatusUnauthorized && strings.Contains(msg, "audience"):
		return "The token is not for Microsoft Graph: a Microsoft token holds one resource's scopes. Give this task a token whose scope is https://graph.microsoft.com/Mail.Send or Mail.ReadWrite (app-only: https://graph.microsoft.com/.default), and keep the IMAP/SMTP scopes on another token.", advice.Misconfigured
	case e.Status == http.StatusUnauthorized:
		return "Graph refused the access token even after a refresh: click Get Email Token to sign in again; if that does not help, check the token's scope (Graph's, not IMAP's or SMTP's).", advice.Reauthorize
	case e.Status == http.StatusForbidden:
		return "Access denied: the app lacks the Graph permission (Mail.Send to send, Mail.ReadWrite to read and move; grant admin consent), the signed-in account has no rights on this mailbox, or — app-only — the mailbox is outside the app's RBAC for Applications scope (New-ManagementRoleAssignment with a management scope that includes it).", advice.Misconfigured
	case e.Code == "ErrorInvalidUser" || e.Status == http.StatusNotFound && strings.Contains(msg, "user"):
		return "Graph knows no such mailbox: check the task's mailbox user (its address or user principal name).", advice.Misconfigured
	case e.Code == "FolderNotFound":
		return "The mailbox has no such folder: check MAILBOX_FOLDER (a well-known name such as Inbox or Archive, or the folder's display name, Parent/Child for a subfolder).", advice.Misconfigured
	case e.Code == "MailboxNotEnabledForRESTAPI":
		return "This mailbox cannot be reached through Graph (an on-premises, inactive or unlicensed mailbox): use IMAP/SMTP for it, or move it to Exchange Online.", advice.Misconfigured
	case e.Code == "ErrorMimeContentInvalidBase64String" || e.Code == "ErrorMimeContentConversionFailed":
		return "Graph could not read this message's MIME: the message is kept in failed/ with Graph's answer beside it.", advice.Misconfigured
	}
	return "", advice.Unknown
}

// mailboxOf is the {mailbox} of a /users/{mailbox}/… URL, for errors.
func mailboxOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	parts := strings.Split(strings.TrimPrefix(u.Path, "/"), "/")
	for i, p := range parts {
		if p == "users" && i+1 < len(parts) {
			return parts[i+1]
		}
	}
	return ""
}

// HTTPStatus, Wait and Answer make Error a bearer.APIError.
func (e *Error) HTTPStatus() int     { return e.Status }
func (e *Error) Wait() time.Duration { return e.RetryAfter }
func (e *Error) Answer() string      { return e.Body }
