// Package apitest is what the tests of the sandbox's HTTP mail APIs
// (graphd, gmaild) and sandboxtest, which starts them for other tests,
// share: starting an API for a test (and making any sandbox server, which
// sandboxtest does with its mail servers too) and sending it requests as a
// plain net/http client would. Only tests import it.
package apitest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
)

// Server is what the sandbox's HTTP mail APIs have in common.
type Server interface {
	Listen() (string, error)
	Close() error
}

// New makes a server from opt changed by edits and closes it when t ends.
// sandboxtest makes its mail servers with it too.
func New[O any, S io.Closer](t testing.TB, opt O, edits []func(*O), newServer func(O) (S, error)) S {
	t.Helper()
	for _, e := range edits {
		e(&opt)
	}
	s, err := newServer(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// Start makes a server as New does and starts it listening; it returns
// the server and its base URL.
func Start[O any, S Server](t testing.TB, opt O, edits []func(*O), newServer func(O) (S, error)) (S, string) {
	t.Helper()
	s := New(t, opt, edits, newServer)
	url, err := s.Listen()
	if err != nil {
		t.Fatal(err)
	}
	return s, url
}

// IMAP returns an IMAP server in style, holding mailboxes, that checks
// logins with dir and is closed when t ends: the mailboxes an API under
// test serves. It does not listen; the API reaches it directly.
func IMAP(t testing.TB, style provider.Type, dir *mailauth.Directory, mailboxes ...string) *imapd.Server {
	t.Helper()
	im, err := imapd.New(imapd.Options{ServerOptions: mailauth.ServerOptions{Style: style, Directory: dir}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	for _, m := range mailboxes {
		im.AddMailbox(m)
	}
	return im
}

// Response is an answer read whole.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the answer into a generic map.
func (r *Response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.Body, &v); err != nil {
		t.Fatalf("HTTP %d, not JSON: %q", r.Status, r.Body)
	}
	return v
}

// Do sends a request to url as a plain net/http client would, with token
// as its bearer token when not empty; headers come in name, value pairs.
func Do(t testing.TB, method, url, token string, body []byte, headers ...string) *Response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: data}
}
