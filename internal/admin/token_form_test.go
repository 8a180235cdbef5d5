package admin

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
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
