package admin

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"mailtokens/internal/admin/form"
	"mailtokens/internal/mailconn"
)

func TestAddTokenRefusesBadInput(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	b.addToken(h.msForm("taken"))
	cases := []struct {
		name  string
		edit  func(url.Values)
		field string // the field the message sits beside (its input id)
		words string
	}{
		{"missing name", func(v url.Values) { v.Del("name") }, "name", "is required"},
		{"duplicate name", func(v url.Values) { v.Set("name", "TAKEN") }, "name", "exists already"},
		{"unknown type", func(v url.Values) { v.Set("type", "yahoo") }, "", "choose Microsoft Azure, Google Gmail or other"},
		{"microsoft without tenant", func(v url.Values) { v.Del("tenant") }, "tenant", "is required for Microsoft"},
		{"bad tenant", func(v url.Values) { v.Set("tenant", "contoso corp") }, "tenant", "neither a GUID"},
		{"missing client id", func(v url.Values) { v.Del("client_id") }, "client_id", "Application (client) ID"},
		{"missing secret", func(v url.Values) { v.Del("client_secret") }, "client_secret", "is required"},
		{"malformed token URL", func(v url.Values) { v.Set("token_url", "login.microsoftonline.com/x") }, "token_url", "not an absolute"},
		{"http to a remote host", func(v url.Values) { v.Set("auth_url", "http://login.example.com/authorize") }, "auth_url", "must use https"},
		{"bad email", func(v url.Values) { v.Set("email", "support") }, "email", "not an email address"},
		{"bad expiry date", func(v url.Values) { v.Set("secret_expires_on", "next year") }, "secret_expires_on", "2027-06-30"},
		{"generic without URLs", func(v url.Values) {
			v.Set("type", "generic")
			v.Del("auth_url")
			v.Del("token_url")
		}, "auth_url", "required for other providers"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			form := h.msForm("new-token")
			c.edit(form)
			r := b.post("/tokens", form)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status %d, want 400", r.status)
			}
			if !strings.Contains(r.body, "Nothing was saved") || !strings.Contains(r.body, c.words) {
				t.Fatalf("page lacks %q: %s", c.words, flashOrErrors(r.body))
			}
			if c.field != "" && !strings.Contains(r.body, `id="`+c.field+`" `) {
				t.Fatalf("no field %s", c.field)
			}
			if c.field != "" && !regexpMatch(`id="`+c.field+`"[^>]*aria-invalid="true"`, r.body) {
				t.Errorf("field %s not marked invalid", c.field)
			}
			// What was typed comes back, except the secret.
			if form.Get("client_id") != "" && !strings.Contains(r.body, form.Get("client_id")) {
				t.Error("typed values lost")
			}
			if strings.Contains(r.body, h.World.MSSecret) {
				t.Fatal("the client secret was rendered back")
			}
		})
	}
	names, _ := h.Store.Names(t.Context())
	if len(names) != 1 {
		t.Fatalf("bad input saved tokens: %v", names)
	}
}

func TestEditKeepsSecretAndShowsOfflineAccess(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	r := b.get(id + "/edit")
	if r.status != http.StatusOK || strings.Contains(r.body, h.World.MSSecret) || !strings.Contains(r.body, "stored — leave empty to keep it") {
		t.Fatalf("edit form: %d", r.status)
	}
	if !strings.Contains(r.body, "<code>offline_access</code> is added automatically") {
		t.Error("the form should say offline_access is added automatically")
	}
	form := h.msForm("support")
	form.Del("client_secret")
	form.Set("scope", "https://outlook.office.com/SMTP.Send")
	if r := b.post(id+"/edit", form); r.status != http.StatusSeeOther {
		t.Fatalf("save: %d %s", r.status, flashOrErrors(r.body))
	}
	tok, _ := h.Store.Get(t.Context(), "support")
	if tok.ClientSecret.Reveal() != h.World.MSSecret || tok.Scope != "https://outlook.office.com/SMTP.Send" {
		t.Fatalf("after edit: scope %q, secret kept %v", tok.Scope, tok.ClientSecret.Reveal() == h.World.MSSecret)
	}
	show := b.get(id)
	if !strings.Contains(show.body, "https://outlook.office.com/SMTP.Send offline_access") {
		t.Errorf("detail page should show the requested scope with offline_access: %s", text(show.body))
	}
}

var fieldErrorRE = regexp.MustCompile(`<p class="error-text" id="(\w+)-error"[^>]*>(.*?)</p>`)

// fieldSentences checks that every field error on a page is a sentence
// that starts with its field's label and ends with a period, and returns
// them by field.
func fieldSentences(t *testing.T, body string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range fieldErrorRE.FindAllStringSubmatch(body, -1) {
		s := html.UnescapeString(m[2])
		if label := form.Label(m[1]); !strings.HasPrefix(s, label+" ") && !strings.HasPrefix(s, label+": ") || !strings.HasSuffix(s, ".") {
			t.Errorf("field %s: %q is not a sentence starting with %q", m[1], s, form.Label(m[1]))
		}
		out[m[1]] = s
	}
	return out
}

// Field errors are shown as sentences naming the field, on every form.
func TestFieldErrorsAreSentences(t *testing.T) {
	h := newHarness(t, func(h *harness, c *Config) { c.Tester = mailconn.Tester{} })
	b := h.browser().login()
	r := b.post("/tokens", url.Values{"type": {"generic"}, "email": {"support"}, "secret_expires_on": {"next year"}})
	got := fieldSentences(t, r.body)
	for field, want := range map[string]string{
		"name":      "Email Token Name is required: task files refer to the token by this name.",
		"client_id": "Client ID is required: the Application (client) ID of the app registration.",
		"auth_url":  "Authorization URL is required for other providers.",
		"email":     `Email Address "support" is not an email address.`,
	} {
		if got[field] != want {
			t.Errorf("%s: %q, want %q", field, got[field], want)
		}
	}
	if got["secret_expires_on"] == "" || got["token_url"] == "" {
		t.Errorf("missing field errors: %q", got)
	}

	id := b.addToken(h.msForm("support"))
	r = b.post(id+"/test", url.Values{"protocol": {"x"}, "server": {"no-port"}, "security": {"tls"}})
	got = fieldSentences(t, r.body)
	if len(got) != 4 || got["server"] != `Server (host:port) "no-port" is not host:port (e.g. outlook.office365.com:993).` {
		t.Errorf("test form errors: %q", got)
	}

	r = b.post(id+"/paste", url.Values{"access_token": {"abc"}, "expires_in": {"soon"}})
	if !strings.Contains(r.body, "<p>Expires in must be a number of seconds, like 3600.</p>") {
		t.Errorf("paste form errors: %s", flashOrErrors(r.body))
	}
}

// The add form: for other providers the URL fields are open and the hints
// speak of that type; the tenant's example is an obviously fake GUID; the
// redirect URI is there to copy; the expiry date is typed as YYYY-MM-DD
// (no date picker showing the browser's locale) and checked on the server.
func TestTokenFormPage(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	r := b.get("/tokens/new?type=generic")
	body := r.body
	for _, d := range regexp.MustCompile(`(?s)<details.*?</details>`).FindAllString(body, -1) {
		if strings.Contains(d, `id="auth_url"`) || strings.Contains(d, `id="token_url"`) {
			t.Error("the URL fields are collapsed in a <details>")
		}
	}
	for _, hint := range regexp.MustCompile(`(?s)<p class="hint for-generic">(.*?)</p>`).FindAllStringSubmatch(body, -1) {
		if strings.Contains(hint[1], "Microsoft") || strings.Contains(hint[1], "Google") {
			t.Errorf("a hint for other providers speaks of Microsoft or Google: %s", hint[1])
		}
	}
	if n := strings.Count(body, `class="hint for-generic"`); n < 3 {
		t.Errorf("%d hints for other providers", n)
	}
	if !strings.Contains(body, `placeholder="00000000-0000-0000-0000-000000000000"`) || strings.Contains(body, "72f988bf") {
		t.Error("the Tenant ID placeholder is not an obviously fake GUID")
	}
	if !strings.Contains(body, `<code id="redirect-uri">`+h.url+`/oauth2/callback</code>`) || !strings.Contains(body, `data-copy="redirect-uri"`) {
		t.Error("the add form does not show the redirect URI to copy")
	}
	date := regexpFind(`(<input id="secret_expires_on"[^>]*>)`, body)
	if !strings.Contains(date, `type="text"`) || !strings.Contains(date, `placeholder="YYYY-MM-DD"`) || !strings.Contains(date, `pattern=`) {
		t.Errorf("the expiry field: %s", date)
	}

	form := h.msForm("support")
	form.Set("secret_expires_on", "06/30/2027")
	r = b.post("/tokens", form)
	if got := fieldSentences(t, r.body)["secret_expires_on"]; r.status != 400 ||
		got != `Client Secret Expires "06/30/2027" is not a date: write it as YYYY-MM-DD, like 2027-06-30.` {
		t.Fatalf("a US date: %d %q", r.status, got)
	}
	form.Set("secret_expires_on", "2027-06-30")
	id := b.addToken(form)
	if r := b.get(id + "/edit"); !strings.Contains(r.body, `value="2027-06-30"`) || !strings.Contains(r.body, `id="redirect-uri"`) {
		t.Errorf("the edit form: %s", regexpFind(`(<input id="secret_expires_on"[^>]*>)`, r.body))
	}
}
