package gmailapi

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"mailtokens/internal/bearer"
)

// CanRead checks, without changing anything, that the token may read the
// label of the mailbox: it finds the label, reads the profile's history
// id and lists the first page.
func (c *Client) CanRead(ctx context.Context, label string) (string, error) {
	id, err := c.LabelID(ctx, label)
	if err != nil {
		return "", err
	}
	if _, err := c.Profile(ctx); err != nil {
		return "", err
	}
	ids, next, err := c.List(ctx, id, "")
	if err != nil {
		return "", err
	}
	more := ""
	if next != "" {
		more = " (more on further pages)"
	}
	return fmt.Sprintf("the Gmail API lets the token read %s of %s: %d message(s) on the first page%s", label, c.User, len(ids), more), nil
}

// CanSend checks, without sending anything, that the token may send as
// the mailbox: it uploads an empty message. Google checks the token and
// its scope first: a 400 about the message means it would have sent a
// real one; 401 or 403 say why not.
func (c *Client) CanSend(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, bearer.Request{Op: "send check", Method: http.MethodPost,
		URL:         c.base() + "/upload/gmail/v1/users/" + url.PathEscape(c.User) + "/messages/send?uploadType=media",
		ContentType: "message/rfc822", Body: func() io.Reader { return strings.NewReader("") }})
	var e *Error
	switch {
	case err == nil:
		bearer.Drain(resp)
		return "", &Error{Op: "send check", User: c.User, Reason: "badAnswer", Message: "the API accepted an empty message; it is not behaving as the Gmail API does"}
	case errors.As(err, &e) && e.Status == http.StatusBadRequest:
		return fmt.Sprintf("the Gmail API lets the token send as %s (it refused only the check's empty message: %s)", c.User, e.Reply()), nil
	}
	return "", err
}
