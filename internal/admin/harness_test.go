package admin

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/tokenstore"
)

const (
	adminName     = "alice"
	adminPassword = "correct horse battery"
)

// harness is evadmin's web utility on a loopback port, over a real store,
// next to the sandbox identity provider and Exchange-like IMAP and SMTP
// servers (their certificate signed by the sandbox's private CA, CAFile),
// all on one fake clock that starts at the real time.
type harness struct {
	t testing.TB
	*sandboxtest.Env
	srv    *Server
	http   *httptest.Server
	logBuf *syncbuf.Buffer
	url    string
}

// harnessOption changes the utility's configuration; the sandbox is up.
type harnessOption func(*harness, *Config)

func newHarness(t testing.TB, opts ...harnessOption) *harness {
	t.Helper()
	// Loopback redirect URIs match any port at both providers.
	e := sandboxtest.New(t, sandboxtest.FakeClock(time.Now()), sandboxtest.DeviceInterval(1),
		sandboxtest.RedirectURIs("http://127.0.0.1/oauth2/callback"), sandboxtest.Store(), sandboxtest.IMAP(provider.Microsoft),
		sandboxtest.SMTP(provider.Microsoft), sandboxtest.Graph())
	h := &harness{t: t, Env: e, logBuf: &syncbuf.Buffer{}}
	var handler http.Handler
	h.http = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { handler.ServeHTTP(w, r) }))
	t.Cleanup(h.http.Close)
	h.url = h.http.URL
	cfg := Config{PublicURL: h.url, Now: e.Clock.Now,
		Logger: slog.New(slog.NewTextHandler(h.logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	for _, o := range opts {
		o(h, &cfg)
	}
	var err error
	h.srv, err = New(cfg, e.Store)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(h.srv.Close)
	handler = h.srv.Handler()
	if _, err := accounts.New(e.Store.DB(), nil).SetAdminPassword(context.Background(), adminName, adminPassword); err != nil {
		t.Fatal(err)
	}
	return h
}

func init() { accounts.SetBcryptCostForTests(bcrypt.MinCost) }

// browser is one admin's browser: a cookie jar, no automatic redirects (the
// tests look at each one).
type browser struct {
	h    *harness
	c    *http.Client
	last string // the last page's body
}

func (h *harness) browser() *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{h: h, c: &http.Client{Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// response is one answer.
type response struct {
	status   int
	body     string
	location string
	header   http.Header
}

func (b *browser) do(method, path string, form url.Values, hdr ...string) response {
	b.h.t.Helper()
	target := path
	if strings.HasPrefix(path, "/") {
		target = b.h.url + path
	}
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, target, body)
	if err != nil {
		b.h.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.h.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	r := response{status: resp.StatusCode, body: string(data), location: resp.Header.Get("Location"), header: resp.Header}
	b.last = r.body
	return r
}

func (b *browser) get(path string) response { return b.do(http.MethodGet, path, nil) }

// post submits a form with the CSRF token of the last page seen.
func (b *browser) post(path string, form url.Values) response {
	if form == nil {
		form = url.Values{}
	}
	if form.Get("csrf") == "" {
		form.Set("csrf", b.csrf())
	}
	return b.do(http.MethodPost, path, form)
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (b *browser) csrf() string {
	if m := csrfRE.FindStringSubmatch(b.last); m != nil {
		return m[1]
	}
	r := b.get("/")
	m := csrfRE.FindStringSubmatch(r.body)
	if m == nil {
		b.h.t.Fatalf("no CSRF token on the page (logged in?): %.300s", r.body)
	}
	return m[1]
}

// login logs the browser in and fails the test otherwise.
func (b *browser) login() *browser {
	b.h.t.Helper()
	r := b.do(http.MethodPost, "/login", url.Values{"name": {adminName}, "password": {adminPassword}})
	if r.status != http.StatusSeeOther {
		b.h.t.Fatalf("login: %d %.300s", r.status, r.body)
	}
	b.get("/")
	return b
}

// addToken adds a token through the form and returns its id path.
func (b *browser) addToken(form url.Values) string {
	b.h.t.Helper()
	r := b.post("/tokens", form)
	if r.status != http.StatusSeeOther {
		b.h.t.Fatalf("add token: %d %s", r.status, flashOrErrors(r.body))
	}
	t, err := b.h.Store.Get(context.Background(), form.Get("name"))
	if err != nil {
		b.h.t.Fatal(err)
	}
	return tokenURL(t)
}

func (h *harness) msForm(name string) url.Values {
	auth, token := h.IDP.Endpoints(h.World, provider.Microsoft)
	return url.Values{"name": {name}, "type": {"microsoft"}, "email": {h.World.MSUser}, "tenant": {h.World.TenantID},
		"client_id": {h.World.MSClientID}, "client_secret": {h.World.MSSecret}, "auth_url": {auth}, "token_url": {token}}
}

func (h *harness) googleForm(name string) url.Values {
	auth, token := h.IDP.Endpoints(h.World, provider.Google)
	return url.Values{"name": {name}, "type": {"google"}, "email": {h.World.GoogleUser},
		"client_id": {h.World.GoogleClientID}, "client_secret": {h.World.GoogleSecret}, "auth_url": {auth}, "token_url": {token}}
}

// getEmailToken clicks Get Email Token, signs in at the sandbox and
// follows the provider's redirect back; it returns the callback's answer.
func (b *browser) getEmailToken(tokenPath, email string) response {
	b.h.t.Helper()
	r := b.post(tokenPath+"/authorize", nil)
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.location, b.h.IDP.URL()) {
		b.h.t.Fatalf("Get Email Token: %d to %q", r.status, r.location)
	}
	back, err := b.h.IDP.SignIn(context.Background(), r.location, email, b.h.World.Password)
	if err != nil {
		b.h.t.Fatal(err)
	}
	return b.do(http.MethodGet, b.callback(back), nil)
}

// callback points the provider's redirect (to the registered loopback
// URI, any port) at the test server.
func (b *browser) callback(back *url.URL) string {
	return b.h.url + back.Path + "?" + back.RawQuery
}

var flashRE = regexp.MustCompile(`(?s)<div class="flash (\w+)"[^>]*>(.*?)</div>`)
var tagRE = regexp.MustCompile(`<[^>]+>`)

// flashOrErrors extracts the messages a page shows, for failure output and
// assertions.
func flashOrErrors(body string) string {
	var out []string
	for _, m := range flashRE.FindAllStringSubmatch(body, -1) {
		out = append(out, m[1]+": "+strings.Join(strings.Fields(tagRE.ReplaceAllString(m[2], " ")), " "))
	}
	for _, m := range regexp.MustCompile(`<p class="error-text"[^>]*>(.*?)</p>`).FindAllStringSubmatch(body, -1) {
		out = append(out, "field: "+m[1])
	}
	return strings.Join(out, " | ")
}

// text is a page body without tags, blanks collapsed, for assertions on
// what a person reads.
func text(body string) string {
	return strings.Join(strings.Fields(tagRE.ReplaceAllString(body, " ")), " ")
}

// useToken records that a worker's task file uses the named token, as the
// worker does when it starts.
func (h *harness) useToken(name string, actor tokenstore.Actor, task string) {
	h.t.Helper()
	if err := h.Store.StartTask(context.Background(), name, tokenstore.TaskStart{Actor: actor, Task: task}); err != nil {
		h.t.Fatal(err)
	}
}

var confirmRE = regexp.MustCompile(`name="confirm" value="([^"]+)"`)

// confirm submits the confirmation form of the last page seen (a guarded
// action's confirmation page) to path.
func (b *browser) confirm(path string) response {
	b.h.t.Helper()
	m := confirmRE.FindStringSubmatch(b.last)
	if m == nil {
		b.h.t.Fatalf("no confirmation form on the page: %s", text(b.last))
	}
	return b.post(path, url.Values{"confirm": {m[1]}})
}

// storeExec changes the store behind the utility's back, for setting up
// situations (a fresh install) the UI cannot reach.
func (h *harness) storeExec(t *testing.T, query string) {
	t.Helper()
	if _, err := h.Store.DB().Exec(query); err != nil {
		t.Fatal(err)
	}
}

func regexpMatch(pattern, s string) bool { return regexp.MustCompile(pattern).MatchString(s) }

// regexpFind returns the first group of pattern in s, or "".
func regexpFind(pattern, s string) string {
	if m := regexp.MustCompile(pattern).FindStringSubmatch(s); len(m) > 1 {
		return m[1]
	}
	return ""
}
