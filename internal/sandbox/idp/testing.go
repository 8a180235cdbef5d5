package idp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Helpers for tests. They compile into the package (it is sandbox-only) so
// that other packages' tests can use them.

// NewTest starts a Server for a test and closes it when the test ends.
func NewTest(t testing.TB, opt Options) *Server {
	t.Helper()
	s := New(opt)
	if err := s.Start(); err != nil {
		t.Fatalf("start sandbox identity provider: %v", err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

// SignIn plays the user at the authorization page behind authURL: it loads
// the page, fills in email and password, presses Accept and returns where
// the provider redirects — the client's redirect URI with code and state, or
// with error and error_description. It never requests the redirect URI
// itself. A page that stays (wrong password) or shows an error (unregistered
// redirect URI) is returned as an error holding the page's message.
func (s *Server) SignIn(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	return browseAuthorize(ctx, authURL, email, password, "accept")
}

// Decline is SignIn pressing Cancel instead of Accept.
func (s *Server) Decline(ctx context.Context, authURL, email, password string) (*url.URL, error) {
	return browseAuthorize(ctx, authURL, email, password, "cancel")
}

// ApproveDevice plays the user at the device sign-in page: enters the user
// code, signs in and accepts.
func (s *Server) ApproveDevice(ctx context.Context, userCode, email, password string) error {
	return s.browseDevice(ctx, userCode, email, password, "accept", "approved")
}

// DeclineDevice is ApproveDevice pressing Cancel.
func (s *Server) DeclineDevice(ctx context.Context, userCode, email, password string) error {
	return s.browseDevice(ctx, userCode, email, password, "cancel", "declined")
}

// browser is a client that, like a person's browser, submits forms and
// reports redirects instead of following them (the sandbox only ever
// redirects to redirect URIs, which belong to the client under test).
type browser struct{ client *http.Client }

func newBrowser() *browser {
	return &browser{client: &http.Client{
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

// page is one response as the browser saw it.
type page struct {
	url      *url.URL
	status   int
	body     string
	location *url.URL // set for redirects
}

func (b *browser) do(ctx context.Context, method, target string, form url.Values) (*page, error) {
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return nil, err
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", target, err)
	}
	p := &page{url: req.URL, status: resp.StatusCode, body: string(data)}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		loc, err := resp.Location()
		if err != nil {
			return nil, fmt.Errorf("redirect from %s: %w", target, err)
		}
		p.location = loc
	}
	return p, nil
}

// submit fills the page's first POST form with values and presses the
// submit button whose value is button.
func (b *browser) submit(ctx context.Context, p *page, values map[string]string, button string) (*page, error) {
	var form *htmlForm
	for _, f := range parseForms(p.body) {
		if f.method == "post" {
			form = &f
			break
		}
	}
	if form == nil {
		return nil, fmt.Errorf("no form on %s: %s", p.url, pageMessage(p))
	}
	vals := url.Values{}
	for _, f := range form.fields {
		if v, ok := values[f.Name]; ok {
			vals.Set(f.Name, v)
		} else {
			vals.Set(f.Name, f.Value)
		}
	}
	pressed := false
	for _, btn := range form.buttons {
		if btn.Value == button {
			vals.Set(btn.Name, btn.Value)
			pressed = true
		}
	}
	if !pressed {
		return nil, fmt.Errorf("no %q button on %s", button, p.url)
	}
	action, err := p.url.Parse(form.action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", form.action, err)
	}
	return b.do(ctx, http.MethodPost, action.String(), vals)
}

// pageMessage is the error a page shows (its headline, such as Google's
// "Error 400: redirect_uri_mismatch", and its message), or its status.
func pageMessage(p *page) string {
	msg, ok := elementText(p.body, "error")
	if !ok {
		return fmt.Sprintf("HTTP %d", p.status)
	}
	if lead, ok := elementText(p.body, "error-lead"); ok {
		msg = lead + " " + msg
	}
	return msg
}

func browseAuthorize(ctx context.Context, authURL, email, password, button string) (*url.URL, error) {
	b := newBrowser()
	p, err := b.do(ctx, http.MethodGet, authURL, nil)
	if err != nil {
		return nil, err
	}
	if p.location != nil {
		return p.location, nil // an error sent straight to the redirect URI
	}
	if p.status != http.StatusOK {
		return nil, fmt.Errorf("authorization page: HTTP %d: %s", p.status, pageMessage(p))
	}
	p, err = b.submit(ctx, p, map[string]string{"email": email, "password": password}, button)
	if err != nil {
		return nil, err
	}
	if p.location != nil {
		return p.location, nil
	}
	return nil, fmt.Errorf("sign-in page: HTTP %d: %s", p.status, pageMessage(p))
}

func (s *Server) browseDevice(ctx context.Context, userCode, email, password, button, want string) error {
	base := s.URL()
	if base == "" {
		return errors.New("idp: device sign-in needs a started server (Start or NewTest)")
	}
	b := newBrowser()
	p, err := b.do(ctx, http.MethodGet, base+"/devicelogin", nil)
	if err != nil {
		return err
	}
	if p, err = b.submit(ctx, p, map[string]string{"user_code": userCode}, "next"); err != nil {
		return err
	}
	if _, hasErr := elementText(p.body, "error"); hasErr {
		return fmt.Errorf("device code page: %s", pageMessage(p))
	}
	if p, err = b.submit(ctx, p, map[string]string{"email": email, "password": password}, button); err != nil {
		return err
	}
	if got := elementAttr(p.body, "result", "data-outcome"); got != want {
		msg, ok := elementText(p.body, "result")
		if !ok {
			msg = pageMessage(p)
		}
		return fmt.Errorf("device sign-in: %s", msg)
	}
	return nil
}
