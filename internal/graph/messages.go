package graph

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Message is a message as a delta page lists it.
type Message struct {
	ID                string    `json:"id"`
	IsRead            bool      `json:"isRead"`
	ReceivedDateTime  time.Time `json:"receivedDateTime"`
	InternetMessageID string    `json:"internetMessageId"`
	Subject           string    `json:"subject"`
	// Removed is set when the message left the folder (moved or deleted)
	// since the last delta: only ID is then known.
	Removed *struct {
		Reason string `json:"reason"`
	} `json:"@removed,omitempty"`
}

// Page is one page of a delta query: messages new or changed (or
// removed) since the link it came from, and either the link to the next
// page or, on the last, the delta link to ask for what changes next.
type Page struct {
	Messages  []Message
	NextLink  string
	DeltaLink string
}

// maxPage bounds a delta page's size (about 50 messages' fields).
const maxPage = 16 << 20

// pageSize is how many messages a delta page asks for.
const pageSize = 50

// deltaSelect is what a delta page lists of each message.
const deltaSelect = "id,isRead,receivedDateTime,internetMessageId,subject"

// Delta reads one page of the folder's changes: from the start when link
// is "", else from a NextLink or DeltaLink an earlier page gave. A link
// Graph no longer knows fails with [ResyncRequired]: start again from "".
// folder is a well-known name (inbox, archive, …) or a folder id
// ([Client.FolderID]).
func (c *Client) Delta(ctx context.Context, folder, link string) (*Page, error) {
	if link == "" {
		link = c.userURL("/mailFolders/"+url.PathEscape(folder)+"/messages/delta") + "?$select=" + deltaSelect
	}
	resp, err := c.do(ctx, request{Op: "delta", Method: http.MethodGet, URL: link,
		Header: http.Header{"Prefer": {fmt.Sprintf("odata.maxpagesize=%d", pageSize)}}})
	if err != nil {
		return nil, err
	}
	defer drain(resp)
	return parsePage(io.LimitReader(resp.Body, maxPage))
}

// parsePage reads a delta page.
func parsePage(r io.Reader) (*Page, error) {
	var body struct {
		Value     []Message `json:"value"`
		NextLink  string    `json:"@odata.nextLink"`
		DeltaLink string    `json:"@odata.deltaLink"`
	}
	if err := json.NewDecoder(r).Decode(&body); err != nil {
		return nil, &Error{Op: "delta", Code: "BadAnswer", Message: "the delta page is not JSON Graph would send: " + err.Error()}
	}
	if (body.NextLink == "") == (body.DeltaLink == "") {
		return nil, &Error{Op: "delta", Code: "BadAnswer", Message: "the delta page has neither or both of @odata.nextLink and @odata.deltaLink"}
	}
	for _, m := range body.Value {
		if m.ID == "" {
			return nil, &Error{Op: "delta", Code: "BadAnswer", Message: "a message in the delta page has no id"}
		}
	}
	return &Page{Messages: body.Value, NextLink: body.NextLink, DeltaLink: body.DeltaLink}, nil
}

// MIME returns the message's MIME content as stored, to be read to the
// end and closed.
func (c *Client) MIME(ctx context.Context, id string) (io.ReadCloser, error) {
	resp, err := c.do(ctx, request{Op: "fetch", Method: http.MethodGet, URL: c.userURL("/messages/" + url.PathEscape(id) + "/$value")})
	if err != nil {
		return nil, err
	}
	return resp.Body, nil
}

// MarkRead sets the message's isRead.
func (c *Client) MarkRead(ctx context.Context, id string) error {
	resp, err := c.do(ctx, jsonRequest("mark read", http.MethodPatch, c.userURL("/messages/"+url.PathEscape(id)), map[string]any{"isRead": true}))
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// Move moves the message to the folder dest (a well-known name or an
// id) and returns its id there: Exchange gives a moved message a new id.
func (c *Client) Move(ctx context.Context, id, dest string) (string, error) {
	resp, err := c.do(ctx, jsonRequest("move", http.MethodPost, c.userURL("/messages/"+url.PathEscape(id)+"/move"), map[string]any{"destinationId": dest}))
	if err != nil {
		return "", err
	}
	defer drain(resp)
	var m Message
	if err := json.NewDecoder(io.LimitReader(resp.Body, maxErrorBody)).Decode(&m); err != nil || m.ID == "" {
		return "", &Error{Op: "move", Mailbox: c.Mailbox, Code: "BadAnswer", Message: "the moved message's answer has no id"}
	}
	return m.ID, nil
}

// Delete deletes the message (Exchange keeps it in Recoverable Items for
// the retention period).
func (c *Client) Delete(ctx context.Context, id string) error {
	resp, err := c.do(ctx, request{Op: "delete", Method: http.MethodDelete, URL: c.userURL("/messages/" + url.PathEscape(id))})
	if err != nil {
		return err
	}
	drain(resp)
	return nil
}

// wellKnown are folder names Graph takes in place of an id.
var wellKnown = map[string]string{"inbox": "inbox", "archive": "archive", "deleteditems": "deleteditems",
	"deleted items": "deleteditems", "sentitems": "sentitems", "sent items": "sentitems", "junkemail": "junkemail",
	"junk email": "junkemail", "drafts": "drafts", "outbox": "outbox"}

// FolderID is the id of the folder named name: a well-known name as it
// is, otherwise found by display name, a path "Parent/Child" level by
// level.
func (c *Client) FolderID(ctx context.Context, name string) (string, error) {
	if id, ok := wellKnown[strings.ToLower(name)]; ok {
		return id, nil
	}
	var id string
	for i, part := range strings.Split(name, "/") {
		list := c.userURL("/mailFolders")
		if i > 0 {
			list = c.userURL("/mailFolders/" + url.PathEscape(id) + "/childFolders")
		}
		filter := "displayName eq '" + strings.ReplaceAll(part, "'", "''") + "'"
		resp, err := c.do(ctx, request{Op: "find folder", Method: http.MethodGet, URL: list + "?$filter=" + url.QueryEscape(filter)})
		if err != nil {
			return "", err
		}
		var body struct {
			Value []struct {
				ID string `json:"id"`
			} `json:"value"`
		}
		err = json.NewDecoder(io.LimitReader(resp.Body, maxPage)).Decode(&body)
		drain(resp)
		if err != nil || len(body.Value) == 0 || body.Value[0].ID == "" {
			return "", &Error{Op: "find folder", Mailbox: c.Mailbox, Code: "FolderNotFound",
				Message: fmt.Sprintf("the mailbox has no folder %q", name)}
		}
		id = body.Value[0].ID
	}
	return id, nil
}

func jsonRequest(op, method, u string, v any) request {
	data, _ := json.Marshal(v)
	return request{Op: op, Method: method, URL: u, ContentType: "application/json",
		Body: func() io.Reader { return strings.NewReader(string(data)) }}
}
