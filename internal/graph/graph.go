// Package graph is the client of Microsoft Graph's mail API that
// batchmail and evmail use when a task's protocol is GRAPH: send a queued
// message as MIME, read a folder with a delta query, fetch each message's
// MIME, and mark it read, move or delete it.
//
// Every request carries the task's access token (for the resource
// https://graph.microsoft.com); a token Graph refuses although the store
// thought it valid is refreshed once and the request sent again, as
// mailconn does for mail servers. A mailbox gets at most four requests at
// a time from this process and about 10,000 per ten minutes, Graph's own
// limits; 429 and 503 answers are temporary and their Retry-After is
// honoured by the caller ([Error.RetryAfter]).
package graph

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/bearer"
	"mailtokens/internal/mailconn"
)

// DefaultBase is Graph's v1.0 endpoint in Microsoft's global cloud.
const DefaultBase = "https://graph.microsoft.com/v1.0"

// Client is Graph for one mailbox.
type Client struct {
	// Base is the API's root, DefaultBase unless a national cloud or the
	// sandbox.
	Base string
	// HTTP makes the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Tokens hands out the access tokens (a *tokenstore.Source).
	Tokens mailconn.Tokens
	// Mailbox is the user id or user principal name the requests are
	// about: /users/{Mailbox}/….
	Mailbox string
}

// maxConcurrent is Graph's MailboxConcurrency limit: four requests at a
// time per app and mailbox.
const maxConcurrent = 4

// budget is Graph's other per-app-per-mailbox limit: 10,000 requests per
// ten minutes. It is kept as ten one-minute counts (a sliding window to
// the minute: 80 bytes a mailbox, not a time per request).
var budget = struct {
	per   time.Duration
	count int
}{10 * time.Minute, 10000}

// budgetSlots is how many counts the window is kept in.
const budgetSlots = 10

// mailboxes holds each mailbox's gate in this process, shared by every
// Client of it.
var mailboxes sync.Map // base+"|"+mailbox → *gate

type gate struct {
	slots chan struct{}

	mu     sync.Mutex
	counts [budgetSlots]int // requests per slot of the window, by slot number mod budgetSlots
	last   int64            // the slot number counts were last moved to
}

func (c *Client) gate() *gate {
	key := strings.ToLower(c.base() + "|" + c.Mailbox)
	g, ok := mailboxes.Load(key)
	if !ok {
		g, _ = mailboxes.LoadOrStore(key, &gate{slots: make(chan struct{}, maxConcurrent)})
	}
	return g.(*gate)
}

// take counts a request at now if the window has room, and returns 0;
// otherwise it returns how long until the oldest slot leaves the window.
func (g *gate) take(now time.Time) time.Duration {
	g.mu.Lock()
	defer g.mu.Unlock()
	slot := budget.per / budgetSlots
	cur := now.UnixNano() / int64(slot)
	for s := max(g.last+1, cur-budgetSlots+1); s <= cur; s++ {
		g.counts[s%budgetSlots] = 0
	}
	g.last = max(g.last, cur)
	sum := 0
	for _, c := range g.counts {
		sum += c
	}
	if sum < budget.count {
		g.counts[cur%budgetSlots]++
		return 0
	}
	oldest := cur
	for s := cur - budgetSlots + 1; s <= cur; s++ {
		if g.counts[s%budgetSlots] > 0 {
			oldest = s
			break
		}
	}
	return time.Duration((oldest+budgetSlots)*int64(slot)-now.UnixNano()) + time.Millisecond
}

// enter waits for a slot and for the budget; leave gives the slot back.
func (g *gate) enter(ctx context.Context) (leave func(), err error) {
	select {
	case g.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	for {
		wait := g.take(time.Now())
		if wait == 0 {
			return func() { <-g.slots }, nil
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			<-g.slots
			return nil, ctx.Err()
		}
	}
}

func (c *Client) base() string {
	if c.Base == "" {
		return DefaultBase
	}
	return strings.TrimRight(c.Base, "/")
}

// userURL is base/users/{mailbox}/path.
func (c *Client) userURL(path string) string {
	return c.base() + "/users/" + url.PathEscape(c.Mailbox) + path
}

// request is one call (see bearer.Request).
type request = bearer.Request

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = bearer.MaxErrorBody

// do sends r through Graph's gate for the mailbox (four at a time, the
// budget), with the token refreshed once on 401 (bearer.Caller), and
// returns the response of a 2xx answer; any other answer is an *Error.
// The caller closes the body.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	leave, err := c.gate().enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	caller := bearer.Caller{Base: c.base(), HTTP: c.HTTP, Tokens: c.Tokens, Server: "GRAPH " + bearer.Host(c.base()),
		User: c.Mailbox, Refused: refused}
	resp, err := caller.Do(ctx, r)
	var off *bearer.OffOriginError
	var net *bearer.NetworkError
	switch {
	case errors.As(err, &off):
		return nil, &Error{Op: "follow link", Mailbox: c.Mailbox, Code: "LinkOffGraph", Message: off.Error()}
	case errors.As(err, &net):
		return nil, &Error{Op: r.Op, Mailbox: c.Mailbox, Err: net.Err}
	}
	return resp, err
}

// refused reads an error answer: Graph's {"error":{"code","message"}}
// and Retry-After. Refusals of the token or of the mailbox count as the
// token's logins.
func refused(op string, resp *http.Response) (error, bool) {
	e := errorOf(op, resp)
	login := e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden ||
		e.Code == "ErrorInvalidUser" || e.Code == "MailboxNotEnabledForRESTAPI"
	return e, login
}

func errorOf(op string, resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{Op: op, Mailbox: mailboxOf(resp.Request.URL.String()), Status: resp.StatusCode,
		RetryAfter: bearer.RetryAfter(resp.Header.Get("Retry-After"))}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	var body struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &body) == nil && body.Error.Code != "" {
		e.Code, e.Message = body.Error.Code, body.Error.Message
	} else {
		e.Message = strings.TrimSpace(string(data))
	}
	e.Body = string(data)
	return e
}

// NewHTTPClient is the HTTP client for Graph (see bearer.NewHTTPClient),
// keeping a connection for each request a mailbox may have in flight.
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	return bearer.NewHTTPClient(roots, maxConcurrent)
}

// drain reads what is left of a successful answer and closes it.
func drain(resp *http.Response) { bearer.Drain(resp) }
