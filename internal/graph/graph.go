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
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
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

func (c *Client) client() *http.Client {
	if c.HTTP == nil {
		return http.DefaultClient
	}
	return c.HTTP
}

// userURL is base/users/{mailbox}/path.
func (c *Client) userURL(path string) string {
	return c.base() + "/users/" + url.PathEscape(c.Mailbox) + path
}

// request is one call: a method, an absolute URL, a body made anew for
// each attempt, and headers.
type request struct {
	op          string // "send", "delta", … for errors
	method, url string
	body        func() io.Reader
	contentType string
	length      int64 // the body's length, if known
	header      http.Header
}

// maxErrorBody bounds what is read of an error answer.
const maxErrorBody = 64 << 10

// do sends r with the token, once more with a refreshed token if Graph
// refuses the first (401), and returns the response of a 2xx answer; any
// other answer is an *Error. The caller closes the body.
func (c *Client) do(ctx context.Context, r request) (*http.Response, error) {
	if err := c.sameHost(r.url); err != nil {
		return nil, err
	}
	leave, err := c.gate().enter(ctx)
	if err != nil {
		return nil, err
	}
	defer leave()
	acc, err := c.Tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, r, acc.Token)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		first := errorOf(r, resp)
		fresh, rerr := c.Tokens.Rejected(ctx, acc.Token)
		if rerr != nil {
			c.loggedIn(ctx, first)
			return nil, first.with(rerr)
		}
		if resp, err = c.send(ctx, r, fresh.Token); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode/100 != 2 {
		e := errorOf(r, resp)
		if e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden || e.Code == "ErrorInvalidUser" || e.Code == "MailboxNotEnabledForRESTAPI" {
			c.loggedIn(ctx, e)
		}
		return nil, e
	}
	c.loggedIn(ctx, nil)
	return resp, nil
}

// loggedIn tells the token's source how Graph took the token: the mail
// side of its health, as a login to a mail server is.
func (c *Client) loggedIn(ctx context.Context, e *Error) {
	l := tokenstore.Login{Server: "GRAPH " + hostOf(c.base()), User: c.Mailbox}
	if e != nil {
		l.Failed, l.Reply = true, e.Reply()
	}
	c.Tokens.LoggedIn(context.WithoutCancel(ctx), l)
}

func (c *Client) send(ctx context.Context, r request, token secret.Secret) (*http.Response, error) {
	var body io.Reader
	if r.body != nil {
		body = r.body()
	}
	req, err := http.NewRequestWithContext(ctx, r.method, r.url, body)
	if err != nil {
		return nil, fmt.Errorf("graph %s: %w", r.op, err)
	}
	for k, v := range r.header {
		req.Header[k] = v
	}
	if r.contentType != "" {
		req.Header.Set("Content-Type", r.contentType)
	}
	if r.length > 0 {
		req.ContentLength = r.length
	}
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	resp, err := c.client().Do(req)
	if err != nil {
		return nil, &Error{Op: r.op, Mailbox: c.Mailbox, Err: err}
	}
	return resp, nil
}

// sameHost refuses a URL on another host than the base: a nextLink or
// deltaLink from the server is followed with the token only to Graph
// itself.
func (c *Client) sameHost(raw string) error {
	u, err := url.Parse(raw)
	base, _ := url.Parse(c.base())
	if err != nil || base == nil || u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) {
		return &Error{Op: "follow link", Mailbox: c.Mailbox, Code: "LinkOffGraph",
			Message: fmt.Sprintf("the server sent a link to %q, outside %s; it was not followed", raw, c.base())}
	}
	return nil
}

func hostOf(raw string) string {
	if u, err := url.Parse(raw); err == nil {
		return u.Host
	}
	return raw
}

// errorOf reads an error answer: Graph's {"error":{"code","message"}}
// and Retry-After.
func errorOf(r request, resp *http.Response) *Error {
	defer resp.Body.Close()
	e := &Error{Op: r.op, Mailbox: mailboxOf(r.url), Status: resp.StatusCode, RetryAfter: retryAfter(resp.Header.Get("Retry-After"))}
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

// retryAfter reads a Retry-After header: seconds, or an HTTP date.
func retryAfter(v string) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return min(time.Duration(s)*time.Second, time.Hour)
	}
	if t, err := http.ParseTime(v); err == nil {
		return min(max(time.Until(t), 0), time.Hour)
	}
	return 0
}

// NewHTTPClient is the HTTP client for Graph: the proxy from the
// environment, roots (nil = the system's) for Graph's certificate,
// bounded waits for a connection and for an answer's headers — not for
// a body, which may be a large message streamed to its destination — and
// no redirects (the token would follow them).
func NewHTTPClient(roots *x509.CertPool) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			MaxIdleConnsPerHost:   maxConcurrent,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}
