package oidcprovider

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
)

// SignIn does what a person in a browser does with authURL (a sign-in
// address the product built): it follows the server's redirects and fills
// in its pages — oidc-provider's login page with user and password, its
// consent page, its auto-submitting forms — keeping cookies, until the
// server sends the browser to the redirect URI that authURL names. It
// returns that address (with code and state, or error and
// error_description) without fetching it. Any other ending (an error page,
// a page without a form) is an error quoting the page.
func (s *Server) SignIn(ctx context.Context, authURL, user, password string) (*url.URL, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	redirect, err := url.Parse(u.Query().Get("redirect_uri"))
	if err != nil || redirect.Host == "" {
		return nil, fmt.Errorf("sign in: %s names no redirect_uri", authURL)
	}
	b := newBrowser()
	b.stopAt = func(next *url.URL) bool {
		return next.Scheme == redirect.Scheme && next.Host == redirect.Host && next.Path == redirect.Path
	}
	resp, err := b.get(ctx, authURL)
	if err != nil {
		return nil, fmt.Errorf("sign in: %w", err)
	}
	for range maxPages {
		if b.arrived != nil {
			resp.Body.Close()
			return b.arrived, nil
		}
		if resp, err = b.submit(ctx, resp, fields{user: user, password: password}); err != nil {
			return nil, fmt.Errorf("sign in as %s: %w", user, err)
		}
	}
	resp.Body.Close()
	return nil, fmt.Errorf("sign in as %s: no redirect to %s after %d pages", user, redirect, maxPages)
}

// ApproveDevice does what a person does with a device code (RFC 8628):
// opens the server's verification page, types userCode, confirms, signs in
// as user and consents, until the server says the sign-in succeeded.
func (s *Server) ApproveDevice(ctx context.Context, userCode, user, password string) error {
	b := newBrowser()
	resp, err := b.get(ctx, s.Issuer+"/device")
	if err != nil {
		return fmt.Errorf("approve device code: %w", err)
	}
	for range maxPages {
		if resp.StatusCode == http.StatusOK && strings.Contains(resp.page, "Sign-in Success") {
			resp.Body.Close()
			return nil
		}
		if resp, err = b.submit(ctx, resp, fields{user: user, password: password, userCode: userCode}); err != nil {
			return fmt.Errorf("approve device code %s as %s: %w", userCode, user, err)
		}
	}
	resp.Body.Close()
	return fmt.Errorf("approve device code %s: no success page after %d pages", userCode, maxPages)
}

// maxPages bounds the pages one sign-in walks through.
const maxPages = 12

// fields are what a person types.
type fields struct {
	user, password, userCode string
}

// browser is an HTTP client with cookies that stops before the redirect
// URI.
type browser struct {
	client  *http.Client
	stopAt  func(*url.URL) bool
	arrived *url.URL
}

func newBrowser() *browser {
	jar, _ := cookiejar.New(nil)
	b := &browser{}
	b.client = &http.Client{Jar: jar, CheckRedirect: func(req *http.Request, via []*http.Request) error {
		if b.stopAt != nil && b.stopAt(req.URL) {
			b.arrived = req.URL
			return http.ErrUseLastResponse
		}
		if len(via) > 10 {
			return errors.New("too many redirects")
		}
		return nil
	}}
	return b
}

// page is a response with its body read.
type page struct {
	*http.Response
	page string
}

func (b *browser) get(ctx context.Context, u string) (*page, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

func (b *browser) do(req *http.Request) (*page, error) {
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(strings.NewReader(""))
	return &page{Response: resp, page: string(body)}, nil
}

// submit fills in and sends the first form of p.
func (b *browser) submit(ctx context.Context, p *page, f fields) (*page, error) {
	form, ok := firstForm(p.page)
	if !ok {
		return nil, fmt.Errorf("%s %s: %s, and no form to fill in: %s", p.Request.Method, p.Request.URL, p.Status, excerpt(p.page))
	}
	values := url.Values{}
	for _, in := range form.inputs {
		v := in.value
		switch {
		case in.name == "login":
			v = f.user
		case in.typ == "password":
			v = f.password
		case in.name == "user_code" && v == "":
			v = f.userCode
		}
		values.Add(in.name, v)
	}
	action, err := p.Request.URL.Parse(form.action)
	if err != nil {
		return nil, fmt.Errorf("form action %q: %w", form.action, err)
	}
	var req *http.Request
	if strings.EqualFold(form.method, http.MethodPost) {
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, action.String(), strings.NewReader(values.Encode()))
		if err == nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	} else {
		action.RawQuery = values.Encode()
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, action.String(), nil)
	}
	if err != nil {
		return nil, err
	}
	return b.do(req)
}

// A small reader for oidc-provider's pages: forms, their action and
// method, and their input fields (not buttons: the one named "abort" on the
// device confirmation page must not be sent). Enough for those pages, which
// are plain; the standard library has no HTML parser.
var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	inputRE = regexp.MustCompile(`(?is)<input\b([^>]*)>`)
	attrRE  = regexp.MustCompile(`(?s)([a-zA-Z_:.-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
	spaceRE = regexp.MustCompile(`\s+`)
)

type htmlForm struct {
	action, method string
	inputs         []htmlInput
}

type htmlInput struct {
	name, typ, value string
}

func firstForm(doc string) (htmlForm, bool) {
	m := formRE.FindStringSubmatch(doc)
	if m == nil {
		return htmlForm{}, false
	}
	attrs := parseAttrs(m[1])
	f := htmlForm{action: attrs["action"], method: attrs["method"]}
	if f.method == "" {
		f.method = http.MethodGet
	}
	for _, in := range inputRE.FindAllStringSubmatch(m[2], -1) {
		a := parseAttrs(in[1])
		typ := strings.ToLower(a["type"])
		if a["name"] == "" || typ == "submit" || typ == "button" {
			continue
		}
		f.inputs = append(f.inputs, htmlInput{name: a["name"], typ: typ, value: a["value"]})
	}
	return f, true
}

func parseAttrs(s string) map[string]string {
	out := map[string]string{}
	for _, m := range attrRE.FindAllStringSubmatch(s, -1) {
		out[strings.ToLower(m[1])] = html.UnescapeString(m[2] + m[3] + m[4])
	}
	return out
}

// excerpt is the start of a page's text, for an error.
func excerpt(doc string) string {
	if i := strings.Index(strings.ToLower(doc), "<body"); i >= 0 {
		doc = doc[i:]
	}
	text := strings.TrimSpace(spaceRE.ReplaceAllString(html.UnescapeString(tagRE.ReplaceAllString(doc, " ")), " "))
	if len(text) > 400 {
		text = text[:400] + "…"
	}
	return text
}
