package admin

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"mailtokens/internal/admin/accounts"
)

// TestEveryPrivateRouteNeedsASession walks the route table: without a
// session, pages send the browser to the login page, and every other
// request is refused; only the public routes answer.
func TestEveryPrivateRouteNeedsASession(t *testing.T) {
	h := newHarness(t)
	admin := h.browser().login()
	id := admin.addToken(h.msForm("support"))
	anon := h.browser()
	public := map[string]bool{}
	for _, rt := range h.srv.Routes() {
		method, path, _ := strings.Cut(rt.Pattern, " ")
		path = strings.ReplaceAll(path, "/tokens/{id}", id)
		path = strings.ReplaceAll(path, "/admins/{id}", "/admins/1")
		path = strings.ReplaceAll(path, "{$}", "")
		if strings.HasSuffix(path, "/") && path != "/" {
			path += "style.css"
		}
		var r response
		if method == http.MethodPost {
			r = anon.do(method, path, url.Values{"csrf": {"guess"}})
		} else {
			r = anon.get(path)
		}
		if rt.Public {
			public[rt.Pattern] = true
			// A public route runs its own handler: no redirect to the login
			// page. (The callback and a failed login answer 401 themselves.)
			if r.status == http.StatusSeeOther && strings.HasPrefix(r.location, "/login") {
				t.Errorf("public route %s sent the browser to log in", rt.Pattern)
			}
			continue
		}
		switch {
		case method == http.MethodGet && rt.Pattern != "GET /metrics":
			if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, "/login?next=") {
				t.Errorf("%s without a session: %d %q, want a redirect to the login page", rt.Pattern, r.status, r.location)
			}
		default:
			if r.status != http.StatusUnauthorized {
				t.Errorf("%s without a session: %d, want 401", rt.Pattern, r.status)
			}
		}
	}
	// The public routes are exactly these.
	for _, p := range []string{"GET /login", "POST /login", "GET /setup", "POST /setup", "GET /oauth2/callback", "GET /healthz", "GET /static/"} {
		if !public[p] {
			t.Errorf("%s should be public", p)
		}
	}
	if len(public) != 7 {
		t.Errorf("public routes: %v", public)
	}
	// Nothing was changed by the anonymous requests.
	if n, err := h.srv.accounts.AdminCount(t.Context()); err != nil || n != 1 {
		t.Fatalf("anonymous requests changed the admins: %d %v", n, err)
	}
	if tok, err := h.Store.Get(t.Context(), "support"); err != nil || tok.Default || tok.Status != "new" {
		t.Fatalf("anonymous requests changed the token: %+v %v", tok, err)
	}
}

func TestLoginLogoutAndThrottle(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	r := b.get("/tokens/new")
	if r.status != http.StatusSeeOther || r.location != "/login?next=%2Ftokens%2Fnew" {
		t.Fatalf("page without session: %d %q", r.status, r.location)
	}
	r = b.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {"wrong password"}})
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Wrong name or password") {
		t.Fatalf("wrong password: %d %s", r.status, flashOrErrors(r.body))
	}
	r = b.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {adminPassword}, "next": {"/tokens/new"}})
	if r.status != http.StatusSeeOther || r.location != "/tokens/new" {
		t.Fatalf("login: %d %q", r.status, r.location)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Secure {
		t.Fatalf("session cookie: %+v", cookie)
	}
	if r := b.get("/tokens/new"); r.status != http.StatusOK {
		t.Fatalf("after login: %d", r.status)
	}
	// An open redirect through next= is refused.
	other := h.browser()
	r = other.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {adminPassword}, "next": {"//evil.example/x"}})
	if r.location != "/" {
		t.Fatalf("next=//evil.example led to %q", r.location)
	}
	// Logout ends the session for good: the old cookie does not work.
	b.post("/logout", nil)
	if r := b.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("after logout: %d", r.status)
	}

	// Throttling: after the free failures even the right password must
	// wait (login_check_test.go has the attacks).
	c := h.browser()
	for range accounts.FreeAttempts {
		c.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {"guess guess guess"}})
	}
	r = c.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {adminPassword}})
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed logins") {
		t.Fatalf("after %d failures: %d %s", accounts.FreeAttempts, r.status, flashOrErrors(r.body))
	}
	h.Clock.Advance(accounts.FirstDelay)
	if r := c.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {adminPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("after the delay: %d", r.status)
	}
}

func TestSetupLink(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *Config) { c.SetupToken = "one-time-setup-token" })
	// The harness created an admin; remove it to look like a fresh install.
	h.storeExec(t, `DELETE FROM admins`)
	b := h.browser()
	if r := b.get("/login"); !strings.Contains(r.body, "evadmin admin passwd") {
		t.Fatal("login page on a fresh install should say how to create the first admin")
	}
	if r := b.get("/setup?token=wrong"); r.status != http.StatusNotFound {
		t.Fatalf("wrong setup token: %d", r.status)
	}
	if r := b.get("/setup?token=one-time-setup-token"); r.status != http.StatusOK {
		t.Fatalf("setup page: %d", r.status)
	}
	r := b.do(http.MethodPost, "/setup", url.Values{"token": {"one-time-setup-token"}, "name": {"root"},
		"password": {"short"}, "password_again": {"short"}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "at least 12") {
		t.Fatalf("short password: %d %s", r.status, flashOrErrors(r.body))
	}
	r = b.do(http.MethodPost, "/setup", url.Values{"token": {"one-time-setup-token"}, "name": {"root"},
		"password": {"a long enough secret"}, "password_again": {"a long enough secret"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("setup: %d %s", r.status, flashOrErrors(r.body))
	}
	if r := b.get("/"); r.status != http.StatusOK || !strings.Contains(r.body, "Welcome, root") {
		t.Fatalf("after setup: %d", r.status)
	}
	// The link is used up.
	if r := h.browser().get("/setup?token=one-time-setup-token"); r.status != http.StatusNotFound {
		t.Fatalf("second use of the setup link: %d", r.status)
	}
}

// The setup link posted many times at once (a double click, a script)
// creates one admin; the other posts are told the link is used up.
func TestSetupLinkConcurrentPosts(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *Config) { c.SetupToken = "one-time-setup-token" })
	h.storeExec(t, `DELETE FROM admins`)
	const posts = 8
	codes := make(chan int, posts)
	var wg sync.WaitGroup
	for i := range posts {
		b := h.browser()
		wg.Go(func() {
			r := b.do(http.MethodPost, "/setup", url.Values{"token": {"one-time-setup-token"}, "name": {fmt.Sprintf("root%d", i)},
				"password": {"a long enough secret"}, "password_again": {"a long enough secret"}})
			codes <- r.status
		})
	}
	wg.Wait()
	close(codes)
	created := 0
	for c := range codes {
		switch c {
		case http.StatusSeeOther:
			created++
		case http.StatusNotFound:
		default:
			t.Errorf("a concurrent setup post answered %d", c)
		}
	}
	var n int
	if err := h.Store.DB().QueryRow(`SELECT COUNT(*) FROM admins`).Scan(&n); err != nil || n != 1 || created != 1 {
		t.Fatalf("%d admins in the store, %d posts told they created one; want 1 and 1 (%v)", n, created, err)
	}
}

func TestCSRF(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	form := h.msForm("support")
	form.Set("csrf", "")
	r := b.do(http.MethodPost, "/tokens", form)
	if r.status != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", r.status)
	}
	form.Set("csrf", "forged")
	if r := b.do(http.MethodPost, "/tokens", form); r.status != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d", r.status)
	}
	// A browser telling us the form comes from another site.
	form.Set("csrf", b.csrf())
	if r := b.do(http.MethodPost, "/tokens", form, "Sec-Fetch-Site", "cross-site"); r.status != http.StatusForbidden {
		t.Fatalf("cross-site post: %d", r.status)
	}
	if r := b.do(http.MethodPost, "/tokens", form, "Origin", "https://evil.example"); r.status != http.StatusForbidden {
		t.Fatalf("foreign origin: %d", r.status)
	}
	if names, _ := h.Store.Names(t.Context()); len(names) != 0 {
		t.Fatalf("a refused request created %v", names)
	}
	// The same form with the token, from this site, works.
	if r := b.do(http.MethodPost, "/tokens", form, "Sec-Fetch-Site", "same-origin"); r.status != http.StatusSeeOther {
		t.Fatalf("good post: %d %s", r.status, flashOrErrors(r.body))
	}
	// A CSRF token of another session does not work either.
	other := h.browser().login()
	f2 := h.msForm("other")
	f2.Set("csrf", b.csrf())
	if r := other.do(http.MethodPost, "/tokens", f2); r.status != http.StatusForbidden {
		t.Fatalf("another session's token: %d", r.status)
	}
}

func TestSecurityHeaders(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	r := b.get("/")
	csp := r.header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "frame-ancestors 'none'", "form-action 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for k, want := range map[string]string{"Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
		"Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"} {
		if got := r.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	// The list's Get Email Token buttons post to us and get redirected to
	// the provider: its origin must be allowed as a form target.
	b.addToken(h.msForm("support"))
	if csp := b.get("/").header.Get("Content-Security-Policy"); !strings.Contains(csp, h.IDP.URL()) {
		t.Errorf("list CSP %q does not allow the provider %s", csp, h.IDP.URL())
	}
	if r := b.get("/static/style.css"); r.status != http.StatusOK || !strings.Contains(r.header.Get("Content-Type"), "css") {
		t.Errorf("static CSS: %d %s", r.status, r.header.Get("Content-Type"))
	}
}

// TestSecureCookiesUnderTLS: behind HTTPS (or with TLS here) the session
// cookie is Secure and browsers are told to keep to HTTPS.
func TestSecureCookiesUnderTLS(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *Config) { c.Secure = true })
	b := h.browser()
	r := b.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {adminPassword}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("login: %d %s", r.status, flashOrErrors(r.body))
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: r.header}).Cookies() {
		if c.Name == sessionCookie {
			cookie = c
		}
	}
	if cookie == nil || !cookie.Secure || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode {
		t.Fatalf("session cookie under TLS: %+v", cookie)
	}
	if got := r.header.Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
}
