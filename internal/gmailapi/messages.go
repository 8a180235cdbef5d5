package gmailapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"mailtokens/internal/bearer"
)

// Raw returns the message as stored (users.messages.get?format=raw, the
// base64url decoded), to be read and closed. The answer is JSON, so the
// message is read whole first: at most limit bytes of it (0: Gmail's own
// 35 MB limit, with room).
func (c *Client) Raw(ctx context.Context, id string, limit int64) (io.ReadCloser, error) {
	if limit <= 0 {
		limit = 50 << 20
	}
	resp, err := c.do(ctx, bearer.Request{Op: "fetch", Method: http.MethodGet, URL: c.userURL("/messages/"+url.PathEscape(id)) + "?format=raw"})
	if err != nil {
		return nil, err
	}
	defer bearer.Drain(resp)
	var m struct {
		Raw string `json:"raw"`
	}
	// base64 makes 4 bytes of 3, and the JSON around it is small.
	if err := json.NewDecoder(io.LimitReader(resp.Body, limit*4/3+64<<10)).Decode(&m); err != nil {
		return nil, &Error{Op: "fetch", User: c.User, Reason: "badAnswer", Message: "the message is larger than the limit, or the answer is not JSON: " + err.Error()}
	}
	data, err := base64.URLEncoding.DecodeString(padded(m.Raw))
	if err != nil {
		return nil, &Error{Op: "fetch", User: c.User, Reason: "badAnswer", Message: "the message's raw is not base64url: " + err.Error()}
	}
	return io.NopCloser(bytes.NewReader(data)), nil
}

// padded adds the = padding Google leaves out.
func padded(s string) string {
	if n := len(s) % 4; n != 0 {
		s += strings.Repeat("=", 4-n)
	}
	return s
}

// Modify adds and removes labels: remove UNREAD marks it read; add one
// label and remove another moves it, keeping its id.
func (c *Client) Modify(ctx context.Context, id string, add, remove []string) error {
	body, _ := json.Marshal(map[string][]string{"addLabelIds": nonNil(add), "removeLabelIds": nonNil(remove)})
	resp, err := c.do(ctx, bearer.Request{Op: "modify", Method: http.MethodPost, URL: c.userURL("/messages/" + url.PathEscape(id) + "/modify"),
		ContentType: "application/json", Body: func() io.Reader { return bytes.NewReader(body) }})
	if err != nil {
		return err
	}
	bearer.Drain(resp)
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Trash moves the message to Trash (Gmail deletes it for good after 30
// days), as deleting over Gmail's IMAP does by default.
func (c *Client) Trash(ctx context.Context, id string) error {
	resp, err := c.do(ctx, bearer.Request{Op: "trash", Method: http.MethodPost, URL: c.userURL("/messages/" + url.PathEscape(id) + "/trash")})
	if err != nil {
		return err
	}
	bearer.Drain(resp)
	return nil
}

// systemLabels are the labels whose id is their name.
var systemLabels = map[string]string{"inbox": "INBOX", "sent": "SENT", "trash": "TRASH", "spam": "SPAM", "starred": "STARRED",
	"important": "IMPORTANT", "unread": "UNREAD", "draft": "DRAFT", "drafts": "DRAFT"}

// LabelID is the id of the label named name: a system label's own, or a
// user label's found by name (Parent/Child as Gmail names nested labels).
func (c *Client) LabelID(ctx context.Context, name string) (string, error) {
	if id, ok := systemLabels[strings.ToLower(name)]; ok {
		return id, nil
	}
	var list struct {
		Labels []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"labels"`
	}
	if err := c.doJSON(ctx, bearer.Request{Op: "find label", Method: http.MethodGet, URL: c.userURL("/labels")}, &list); err != nil {
		return "", err
	}
	for _, l := range list.Labels {
		if strings.EqualFold(l.Name, name) && l.ID != "" {
			return l.ID, nil
		}
	}
	return "", &Error{Op: "find label", User: c.User, Reason: "labelNotFound", Message: "the mailbox has no label " + name}
}
