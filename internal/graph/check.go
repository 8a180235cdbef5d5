package graph

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// CanRead checks, without changing anything, that the token may read
// folder of the mailbox: it finds the folder and reads the first page of
// its delta. It returns what it saw, in words.
func (c *Client) CanRead(ctx context.Context, folder string) (string, error) {
	id, err := c.FolderID(ctx, folder)
	if err != nil {
		return "", err
	}
	page, err := c.Delta(ctx, id, "")
	if err != nil {
		return "", err
	}
	more := ""
	if page.NextLink != "" {
		more = " (more on further pages)"
	}
	return fmt.Sprintf("Graph lets the token read %s of %s: %d message(s) on the first delta page%s", folder, c.Mailbox, len(page.Messages), more), nil
}

// CanSend checks, without sending anything, that the token may send as
// the mailbox: it posts a sendMail whose MIME is not base64. Graph checks
// the token and its permission first: 400 "Invalid base64 string for
// MIME content" means it would have sent a real message; 401, 403 or
// 404 say why not.
func (c *Client) CanSend(ctx context.Context) (string, error) {
	resp, err := c.do(ctx, request{Op: "send check", Method: http.MethodPost, URL: c.userURL("/sendMail"),
		ContentType: "text/plain", Body: func() io.Reader { return strings.NewReader("!not base64: mailtokens send check!") }})
	var e *Error
	switch {
	case err == nil:
		drain(resp)
		return "", &Error{Op: "send check", Mailbox: c.Mailbox, Code: "BadAnswer", Message: "Graph accepted a message that is not base64; it is not behaving as Graph does"}
	case errors.As(err, &e) && e.Status == http.StatusBadRequest:
		return fmt.Sprintf("Graph lets the token send as %s (it refused only the check's deliberately broken message: %s)", c.Mailbox, e.Reply()), nil
	}
	return "", err
}
