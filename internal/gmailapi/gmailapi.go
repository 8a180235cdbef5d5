// Package gmailapi is the client of the Gmail API that batchmail and
// evmail use when a task's protocol is GMAIL_API: send a queued message
// as it is (users.messages.send, media upload), follow a label's history
// from a stored history id, fetch each message raw, and mark it read,
// relabel (move) or trash it. Requests go through package bearer: the
// task's token, refreshed once on 401, only to the API's own origin.
package gmailapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/bearer"
	"mailtokens/internal/mailconn"
)

// DefaultBase is the Gmail API's root.
const DefaultBase = "https://gmail.googleapis.com"

// Client is the Gmail API for one mailbox.
type Client struct {
	Base   string       // DefaultBase unless the sandbox
	HTTP   *http.Client // nil: http.DefaultClient
	Tokens mailconn.Tokens
	// User is the mailbox's address (a service account acts for it);
	// "me" is the token's own.
	User string
}

func (c *Client) base() string {
	if c.Base == "" {
		return DefaultBase
	}
	return strings.TrimRight(c.Base, "/")
}

func (c *Client) userURL(path string) string {
	return c.base() + "/gmail/v1/users/" + url.PathEscape(c.User) + path
}

// Error is a request the Gmail API did not accept, or could not be sent.
type Error struct {
	Op     string
	User   string
	Status int    // 0: no answer (Err says why)
	Reason string // the first errors[].reason, e.g. "insufficientPermissions"
	// Message is Google's message; Body the answer as it came.
	Message, Body string
	RetryAfter    time.Duration
	Err           error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("gmail api %s", e.Op)
	if e.User != "" {
		s += " for " + e.User
	}
	if e.Status != 0 || e.Message != "" {
		s += ": " + e.Reply()
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Reply is the answer in one line: "403 insufficientPermissions: Request had …".
func (e *Error) Reply() string {
	s := fmt.Sprintf("%d", e.Status)
	if e.Reason != "" {
		s += " " + e.Reason
	}
	if e.Message != "" {
		s += ": " + e.Message
	}
	return s
}

// HTTPStatus, Wait and Answer make Error a bearer.APIError.
func (e *Error) HTTPStatus() int     { return e.Status }
func (e *Error) Wait() time.Duration { return e.RetryAfter }
func (e *Error) Answer() string      { return e.Body }

// rateReasons are Google's reasons for a quota or rate limit, which 403
// carries as well as 429.
var rateReasons = map[string]bool{"rateLimitExceeded": true, "userRateLimitExceeded": true, "quotaExceeded": true, "dailyLimitExceeded": false}

// Temporary: rate limited, unavailable or no answer.
func (e *Error) Temporary() bool {
	switch {
	case e.Status == 0:
		return e.Reason == "" || e.Reason == "badAnswer"
	case e.Status == http.StatusTooManyRequests, e.Status >= 500:
		return true
	}
	return e.Status == http.StatusForbidden && rateReasons[e.Reason]
}

// HistoryGone says a start history id is too old or unknown (404 from
// users.history.list): read the label from the start.
func HistoryGone(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Op == "history" && e.Status == http.StatusNotFound
}

// Advice says in plain words what the common refusals mean.
func (e *Error) Advice() (string, advice.Kind) {
	switch {
	case e.Temporary():
		return "The Gmail API is busy, limiting this mailbox's requests, or unreachable; the worker tries again later (after Retry-After when given).", advice.Temporary
	case e.Reason == "labelNotFound":
		return "The mailbox has no such label: check MAILBOX_FOLDER or MAILBOX_MOVE_TO (INBOX, or a label's name as Gmail shows it, Parent/Child for a nested one).", advice.Misconfigured
	case e.Reason == "offOrigin":
		return "The answer pointed outside the Gmail API: check MAIL_GMAIL_API_URL / MAILBOX_GMAIL_API_URL and any proxy in between.", advice.Misconfigured
	case e.Status == http.StatusUnauthorized:
		return "The Gmail API refused the access token even after a refresh: click Get Email Token to sign in again, and check that the token is a Google one.", advice.Reauthorize
	case e.Status == http.StatusForbidden && e.Reason == "insufficientPermissions":
		return "The token's scope does not allow this: https://www.googleapis.com/auth/gmail.send to send, gmail.modify to read, label and trash (https://mail.google.com/ for everything). Change the token's scope and click Get Email Token again.", advice.Misconfigured
	case e.Status == http.StatusForbidden || e.Status == http.StatusNotFound && e.Op != "history":
		return "The token's account may not use this mailbox: sign in as the mailbox, or give a service account domain-wide delegation for it; check that the Gmail API is enabled in the Google Cloud project.", advice.Misconfigured
	case e.Status == http.StatusBadRequest && strings.Contains(strings.ToLower(e.Message), "mail service not enabled"):
		return "Gmail is not enabled for this account (Google Workspace: turn Gmail on for the user's organizational unit).", advice.Misconfigured
	}
	return "", advice.Unknown
}

// maxJSON bounds a JSON answer other than a raw message.
const maxJSON = 16 << 20

func (c *Client) caller() *bearer.Caller {
	return &bearer.Caller{Base: c.base(), HTTP: c.HTTP, Tokens: c.Tokens, Server: "GMAIL_API " + bearer.Host(c.base()),
		User: c.User, Refused: c.refused}
}

// do sends r; a 2xx answer's body is for the caller to read and close.
func (c *Client) do(ctx context.Context, r bearer.Request) (*http.Response, error) {
	resp, err := c.caller().Do(ctx, r)
	var off *bearer.OffOriginError
	var netErr *bearer.NetworkError
	switch {
	case errors.As(err, &off):
		return nil, &Error{Op: r.Op, User: c.User, Reason: "offOrigin", Message: off.Error()}
	case errors.As(err, &netErr):
		return nil, &Error{Op: r.Op, User: c.User, Err: netErr.Err}
	}
	return resp, err
}

// doJSON sends r and decodes a 2xx answer into v.
func (c *Client) doJSON(ctx context.Context, r bearer.Request, v any) error {
	resp, err := c.do(ctx, r)
	if err != nil {
		return err
	}
	defer bearer.Drain(resp)
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxJSON)).Decode(v); err != nil {
		return &Error{Op: r.Op, User: c.User, Reason: "badAnswer", Message: "the answer is not JSON the Gmail API would send: " + err.Error()}
	}
	return nil
}

// refused reads Google's error answer. Refusals of the token or of the
// mailbox count as the token's logins.
func (c *Client) refused(op string, resp *http.Response) (error, bool) {
	defer resp.Body.Close()
	e := &Error{Op: op, User: c.User, Status: resp.StatusCode, RetryAfter: bearer.RetryAfter(resp.Header.Get("Retry-After"))}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, bearer.MaxErrorBody))
	var body struct {
		Error struct {
			Message string `json:"message"`
			Errors  []struct {
				Reason string `json:"reason"`
			} `json:"errors"`
			Status string `json:"status"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && (body.Error.Message != "" || body.Error.Status != "") {
		e.Message = body.Error.Message
		if len(body.Error.Errors) > 0 {
			e.Reason = body.Error.Errors[0].Reason
		} else {
			e.Reason = body.Error.Status
		}
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	e.Body = string(data)
	login := e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden && !rateReasons[e.Reason]
	return e, login
}

// Send sends the size bytes of raw, an RFC 5322 message, as it is
// (users.messages.send, media upload); Gmail takes the recipients from
// To, Cc and Bcc, removes Bcc from what they get, and keeps the message
// in the mailbox's Sent Mail. It returns the sent message's id.
func (c *Client) Send(ctx context.Context, raw io.ReaderAt, size int64) (string, error) {
	var sent struct {
		ID string `json:"id"`
	}
	err := c.doJSON(ctx, bearer.Request{Op: "send", Method: http.MethodPost,
		URL:         c.base() + "/upload/gmail/v1/users/" + url.PathEscape(c.User) + "/messages/send?uploadType=media",
		ContentType: "message/rfc822", Length: size,
		Body: func() io.Reader { return io.NewSectionReader(raw, 0, size) }}, &sent)
	return sent.ID, err
}

// Profile returns the mailbox's current history id.
func (c *Client) Profile(ctx context.Context) (historyID string, err error) {
	var p struct {
		HistoryID string `json:"historyId"`
	}
	if err := c.doJSON(ctx, bearer.Request{Op: "profile", Method: http.MethodGet, URL: c.userURL("/profile")}, &p); err != nil {
		return "", err
	}
	if p.HistoryID == "" {
		return "", &Error{Op: "profile", User: c.User, Reason: "badAnswer", Message: "the profile has no historyId"}
	}
	return p.HistoryID, nil
}

// pageSize is how many ids a list or history page asks for.
const pageSize = 100

// List returns one page of the ids of the messages with the label, and
// the next page's token ("" on the last).
func (c *Client) List(ctx context.Context, label, pageToken string) (ids []string, next string, err error) {
	q := url.Values{"labelIds": {label}, "maxResults": {fmt.Sprint(pageSize)}}
	if pageToken != "" {
		q.Set("pageToken", pageToken)
	}
	var page struct {
		Messages []struct {
			ID string `json:"id"`
		} `json:"messages"`
		NextPageToken string `json:"nextPageToken"`
	}
	if err := c.doJSON(ctx, bearer.Request{Op: "list", Method: http.MethodGet, URL: c.userURL("/messages") + "?" + q.Encode()}, &page); err != nil {
		return nil, "", err
	}
	for _, m := range page.Messages {
		if m.ID != "" {
			ids = append(ids, m.ID)
		}
	}
	return ids, page.NextPageToken, nil
}

// HistoryPage is one page of a label's history: the messages that came
// into the label, the next page's token, and the history id the next
// history read starts from once every page is dealt with.
type HistoryPage struct {
	Added     []string
	Next      string
	HistoryID string
}

// History reads one page of the label's changes since start: messages
// added to the mailbox with the label, or given the label later. A start
// Gmail no longer knows fails with [HistoryGone].
func (c *Client) History(ctx context.Context, label, start, pageToken string) (*HistoryPage, error) {
	q := url.Values{"startHistoryId": {start}, "labelId": {label}, "historyTypes": {"messageAdded", "labelAdded"},
		"maxResults": {fmt.Sprint(pageSize)}}
	if pageToken != "" {
		q.Set("pageToken", pageToken)
	}
	type msg struct {
		ID       string   `json:"id"`
		LabelIDs []string `json:"labelIds"`
	}
	var body struct {
		History []struct {
			MessagesAdded []struct {
				Message msg `json:"message"`
			} `json:"messagesAdded"`
			LabelsAdded []struct {
				Message  msg      `json:"message"`
				LabelIDs []string `json:"labelIds"`
			} `json:"labelsAdded"`
		} `json:"history"`
		NextPageToken string `json:"nextPageToken"`
		HistoryID     string `json:"historyId"`
	}
	if err := c.doJSON(ctx, bearer.Request{Op: "history", Method: http.MethodGet, URL: c.userURL("/history") + "?" + q.Encode()}, &body); err != nil {
		return nil, err
	}
	p := &HistoryPage{Next: body.NextPageToken, HistoryID: body.HistoryID}
	seen := map[string]bool{}
	add := func(id string) {
		if id != "" && !seen[id] {
			seen[id] = true
			p.Added = append(p.Added, id)
		}
	}
	for _, h := range body.History {
		for _, a := range h.MessagesAdded {
			if len(a.Message.LabelIDs) == 0 || has(a.Message.LabelIDs, label) {
				add(a.Message.ID)
			}
		}
		for _, a := range h.LabelsAdded {
			if has(a.LabelIDs, label) {
				add(a.Message.ID)
			}
		}
	}
	if p.Next == "" && p.HistoryID == "" {
		return nil, &Error{Op: "history", User: c.User, Reason: "badAnswer", Message: "the last history page has no historyId"}
	}
	return p, nil
}

func has(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
