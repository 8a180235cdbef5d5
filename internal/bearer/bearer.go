// Package bearer makes the HTTPS requests of the workers' web-API
// transports (Microsoft Graph, the Gmail API): each carries the task's
// access token, a token the API refuses although the store thought it
// valid is refreshed once and the request sent again (as mailconn does
// for mail servers), requests go only to the API's own origin, and every
// answer that says something about the token is reported to the store
// as a login, for the token's health.
package bearer

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// Caller makes the requests of one API for one mailbox.
type Caller struct {
	// Base is the API's root; requests and the links an answer gives are
	// followed only to its scheme and host.
	Base string
	// HTTP makes the requests; nil means http.DefaultClient.
	HTTP *http.Client
	// Tokens hands out the access tokens (a *tokenstore.Source).
	Tokens mailconn.Tokens
	// Server names the API in the token's login records ("GRAPH
	// graph.microsoft.com"); User is the mailbox.
	Server, User string
	// Refused reads an answer that is not 2xx into the API's error (it
	// closes the body). login says whether the answer is about the token
	// or the mailbox's access (401, 403, unknown mailbox): such answers,
	// and successes, are the token's logins.
	Refused func(op string, resp *http.Response) (err error, login bool)
}

// Request is one call. Body is made anew for each attempt (a refused
// token sends the request twice).
type Request struct {
	Op          string // "send", "delta", … for errors
	Method, URL string
	Body        func() io.Reader
	ContentType string
	Length      int64 // the body's length, if known
	Header      http.Header
}

// OffOriginError is a URL outside the API's origin, not followed: the
// token would go with it.
type OffOriginError struct{ URL, Base string }

func (e *OffOriginError) Error() string {
	return fmt.Sprintf("the server sent a link to %q, outside %s; it was not followed", e.URL, e.Base)
}

// NetworkError is a request that got no answer.
type NetworkError struct {
	Op  string
	Err error
}

func (e *NetworkError) Error() string { return e.Op + ": " + e.Err.Error() }
func (e *NetworkError) Unwrap() error { return e.Err }

// Do sends r with the token, once more with a refreshed token if the API
// answers 401, and returns the response of a 2xx answer for the caller
// to read and close; any other answer is Refused's error.
func (c *Caller) Do(ctx context.Context, r Request) (*http.Response, error) {
	if err := c.sameOrigin(r.URL); err != nil {
		return nil, err
	}
	acc, err := c.Tokens.Token(ctx)
	if err != nil {
		return nil, err
	}
	resp, err := c.send(ctx, r, acc.Token)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode == http.StatusUnauthorized {
		first, _ := c.Refused(r.Op, resp)
		fresh, rerr := c.Tokens.Rejected(ctx, acc.Token)
		if rerr != nil {
			c.loggedIn(ctx, first)
			return nil, errors.Join(first, rerr)
		}
		if resp, err = c.send(ctx, r, fresh.Token); err != nil {
			return nil, err
		}
	}
	if resp.StatusCode/100 != 2 {
		err, login := c.Refused(r.Op, resp)
		if login {
			c.loggedIn(ctx, err)
		}
		return nil, err
	}
	c.loggedIn(ctx, nil)
	return resp, nil
}

// loggedIn tells the token's source how the API took the token: the mail
// side of its health, as a login to a mail server is.
func (c *Caller) loggedIn(ctx context.Context, err error) {
	l := tokenstore.Login{Server: c.Server, User: c.User}
	if err != nil {
		l.Failed, l.Reply = true, err.Error()
	}
	c.Tokens.LoggedIn(context.WithoutCancel(ctx), l)
}

func (c *Caller) send(ctx context.Context, r Request, token secret.Secret) (*http.Response, error) {
	var body io.Reader
	if r.Body != nil {
		body = r.Body()
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, r.URL, body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", r.Op, err)
	}
	for k, v := range r.Header {
		req.Header[k] = v
	}
	if r.ContentType != "" {
		req.Header.Set("Content-Type", r.ContentType)
	}
	if r.Length > 0 {
		req.ContentLength = r.Length
	}
	req.Header.Set("Authorization", "Bearer "+token.Reveal())
	client := c.HTTP
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, &NetworkError{Op: r.Op, Err: err}
	}
	return resp, nil
}

func (c *Caller) sameOrigin(raw string) error {
	u, err := url.Parse(raw)
	base, _ := url.Parse(c.Base)
	if err != nil || base == nil || u.Scheme != base.Scheme || !strings.EqualFold(u.Host, base.Host) {
		return &OffOriginError{URL: raw, Base: c.Base}
	}
	return nil
}

// Host is the host of the Base URL, for records.
func Host(base string) string {
	if u, err := url.Parse(base); err == nil {
		return u.Host
	}
	return base
}

// MaxErrorBody bounds what is read of an error answer.
const MaxErrorBody = 64 << 10

// Drain reads what is left of an answer and closes it, so that the
// connection is reused.
func Drain(resp *http.Response) {
	io.Copy(io.Discard, io.LimitReader(resp.Body, MaxErrorBody))
	resp.Body.Close()
}

// RetryAfter reads a Retry-After header: seconds, or an HTTP date; at
// most an hour.
func RetryAfter(v string) time.Duration {
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

// NewHTTPClient is the HTTP client for an API: the proxy from the
// environment, roots (nil = the system's) for its certificate, bounded
// waits for a connection and for an answer's headers — not for a body,
// which may be a large message streamed to its destination — and no
// redirects (the token would follow them).
func NewHTTPClient(roots *x509.CertPool, perHost int) *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSClientConfig:       &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12},
			TLSHandshakeTimeout:   30 * time.Second,
			ResponseHeaderTimeout: 2 * time.Minute,
			MaxIdleConnsPerHost:   perHost,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// APIError is what the web APIs' errors (graph.Error, gmailapi.Error)
// have in common, for the workers to act on.
type APIError interface {
	error
	HTTPStatus() int     // 0: no answer
	Temporary() bool     // try again later
	Wait() time.Duration // the API's Retry-After
	Reply() string       // the answer in one line
	Answer() string      // the answer as it came
}
