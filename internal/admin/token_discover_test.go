package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// stdForm is the token form for the sandbox's standards issuer, as an
// admin types it before clicking Discover: no URLs.
func (h *harness) stdForm(name string) url.Values {
	return url.Values{"name": {name}, "type": {"generic"}, "email": {h.World.StdUser}, "client_id": {h.World.StdClientID},
		"scope": {"openid email mail"}, "issuer": {h.IDP.StdIssuer()}}
}

func TestDiscoverFillsTheForm(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	f := h.stdForm("std")
	f.Set("client_secret", h.World.StdSecret)
	f.Set("action", "discover")
	r := b.post("/tokens", f)
	iss := h.IDP.StdIssuer()
	if r.status != http.StatusOK || !strings.Contains(r.body, "Filled in from "+iss+"/.well-known/openid-configuration") {
		t.Fatalf("discover: %d %s", r.status, flashOrErrors(r.body))
	}
	for _, want := range []string{
		`id="auth_url" name="auth_url" type="url" value="` + iss + `/authorize"`,
		`id="token_url" name="token_url" type="url" value="` + iss + `/token"`,
		`id="device_url" name="device_url" type="url" value="` + iss + `/device"`,
		`id="revoke_url" name="revoke_url" type="url" value="` + iss + `/revoke"`,
		`id="userinfo_url" name="userinfo_url" type="url" value="` + iss + `/userinfo"`,
		`<option value="client_secret_basic" selected>`,
		`openid email mail offline_access</textarea>`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the form lacks %s", want)
		}
	}
	if strings.Contains(r.body, h.World.StdSecret) {
		t.Fatal("the client secret was rendered back")
	}
	if names, _ := h.Store.Names(t.Context()); len(names) != 0 {
		t.Fatalf("Discover saved: %v", names)
	}

	// A wrong issuer: the reason beside the field, the typed values kept.
	f.Set("issuer", h.IDP.URL()+"/nowhere")
	r = b.post("/tokens", f)
	if !regexpMatch(`id="issuer"[^>]*aria-invalid="true"`, r.body) || !strings.Contains(text(r.body), "No discovery document was found") ||
		!strings.Contains(r.body, "/.well-known/oauth-authorization-server/nowhere") {
		t.Fatalf("wrong issuer: %s", flashOrErrors(r.body))
	}
}

// A generic token saved from discovery: Get Email Token (PKCE, nonce,
// Basic client authentication) and the device-code button, which shows
// because the token has a device URL.
func TestStandardsTokenSignInAndDevice(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	iss := h.IDP.StdIssuer()
	f := h.stdForm("std")
	f.Set("client_secret", h.World.StdSecret)
	f.Set("auth_url", iss+"/authorize")
	f.Set("token_url", iss+"/token")
	f.Set("client_auth", provider.ClientSecretBasic)
	f.Set("auth_params", "state=mine")
	if r := b.post("/tokens", f); r.status != http.StatusBadRequest || !strings.Contains(text(r.body), "Extra Authorization Parameters must not set state") {
		t.Fatalf("a reserved parameter: %d %s", r.status, flashOrErrors(r.body))
	}
	f.Set("auth_params", "ui_locales=de")
	noDevice := b.addToken(f)
	if strings.Contains(b.get(noDevice).body, "Sign in with a device code") {
		t.Fatal("a device-code button without a device URL")
	}
	f.Set("name", "std-device")
	f.Set("device_url", iss+"/device")
	id := b.addToken(f)
	if !strings.Contains(b.get(id).body, "Sign in with a device code") {
		t.Fatal("no device-code button for a generic token with a device URL")
	}

	r := b.getEmailToken(noDevice, h.World.StdUser)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "is valid until") {
		t.Fatalf("Get Email Token: %s", msg)
	}
	q := h.IDP.AuthorizeRequests()[0]
	if q.Get("nonce") == "" || q.Get("ui_locales") != "de" || q.Get("code_challenge_method") != "S256" {
		t.Fatalf("authorization request: %v", q)
	}
	tok, _ := h.Store.Get(t.Context(), "std")
	if tok.Status != tokenstore.StatusValid || !strings.EqualFold(tok.SignedInAs, h.World.StdUser) {
		t.Fatalf("token: %s, account %q", tok.Status, tok.SignedInAs)
	}

	r = b.post(id+"/device", nil)
	if r.status != http.StatusSeeOther || r.location != id+"/device" {
		t.Fatalf("device start: %d %s", r.status, flashOrErrors(b.get(id).body))
	}
	code := regexpFind(`id="user-code">([^<]+)<`, b.get(id+"/device").body)
	if err := h.IDP.ApproveDevice(context.Background(), code, h.World.StdUser, h.World.Password); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for b.get(id+"/device").status != http.StatusSeeOther {
		select {
		case <-ctx.Done():
			t.Fatalf("device sign-in never completed: %s", text(b.last))
		case <-tick.C:
		}
	}
	dev, _ := h.Store.Get(t.Context(), "std-device")
	if dev.Grant != tokenstore.GrantDeviceCode || dev.Status != tokenstore.StatusValid {
		t.Fatalf("device token: %s %s", dev.Grant, dev.Status)
	}
}
