package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/tokenstore"
)

// keyLines are lines of a PEM or JSON key long enough to be key material.
func keyLines(key string) []string {
	var out []string
	for _, l := range strings.Split(key, "\n") {
		if l = strings.TrimSpace(l); len(l) >= 40 && !strings.HasPrefix(l, "-----") {
			out = append(out, l)
		}
	}
	return out
}

func leaks(t *testing.T, page, key string) {
	t.Helper()
	for _, l := range keyLines(key) {
		if strings.Contains(page, l) {
			t.Fatalf("the page shows key material: %.40s…", l)
		}
	}
}

// Microsoft with a certificate: pasted once, never shown back (only what
// it is), an expired one refused with a sentence, an app-only token had
// with it that the sandbox's Exchange accepts, and removable.
func TestCertificateForm(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	key := h.World.MSCertificate

	expired, err := testcert.NewClient("old", time.Now().AddDate(-2, 0, 0), time.Now().AddDate(0, 0, -1))
	if err != nil {
		t.Fatal(err)
	}
	f := h.msForm("cert")
	f.Del("client_secret")
	f.Set("client_key", expired.PEM)
	r := b.post("/tokens", f)
	want := "Certificate or Service Account Key is a certificate that expired on " + expired.Cert.NotAfter.UTC().Format(time.DateOnly) + ": create a new one"
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, want) || !regexpMatch(`id="client_key"[^>]*aria-invalid="true"`, r.body) {
		t.Fatalf("expired certificate: %d %s", r.status, flashOrErrors(r.body))
	}
	leaks(t, r.body, expired.PEM)

	// A form sent back for another field's error keeps no key either.
	f.Set("client_key", key)
	f.Set("email", "support")
	r = b.post("/tokens", f)
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "not an email address") {
		t.Fatalf("bad email: %d %s", r.status, flashOrErrors(r.body))
	}
	leaks(t, r.body, key)

	f.Set("email", h.World.MSUser)
	id := b.addToken(f)
	tok, _ := h.Store.Get(context.Background(), "cert")
	if tok.ClientAuth != provider.ClientAuthPrivateKeyJWT || !tok.HasClientKey || tok.HasClientSecret ||
		tok.KeyExpiresOn.Format(time.DateOnly) != "2099-12-31" {
		t.Fatalf("stored: auth %q, key %v, secret %v, expires %v", tok.ClientAuth, tok.HasClientKey, tok.HasClientSecret, tok.KeyExpiresOn)
	}
	for _, page := range []string{id, id + "/edit"} {
		body := b.get(page).body
		leaks(t, body, key)
		if !strings.Contains(body, "certificate CN=Contoso mail workers, expires 2099-12-31, thumbprint ") {
			t.Fatalf("%s does not say what key is stored: %s", page, text(body))
		}
	}

	// Get app-only token with the certificate; Exchange (the sandbox's)
	// takes it for a mailbox the app's service principal may open.
	r = b.post(id+"/apponly", nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "is valid until") {
		t.Fatalf("app-only: %s", msg)
	}
	tok, _ = h.Store.Get(context.Background(), "cert")
	h.Directory.GrantAppAccess(h.World.MSUser)
	if tok.Grant != tokenstore.GrantClientCredentials || h.Directory.Bearer(mailauth.IMAP, h.World.MSUser, tok.AccessToken.Reveal()) != nil {
		t.Fatal("the app-only token is not accepted at IMAP")
	}
	if body := b.get(id).body; !strings.Contains(body, provider.MicrosoftAppOnlyScope) || strings.Contains(body, "offline_access") {
		t.Errorf("an app-only token's page shows the scopes of a sign-in: %s", text(body))
	}

	// An edit that leaves the key empty keeps it; removing it needs the
	// secret back.
	edit := h.msForm("cert")
	edit.Del("client_secret")
	b.get(id + "/edit")
	if r := b.post(id+"/edit", edit); r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", r.status, flashOrErrors(r.body))
	}
	if tok, _ = h.Store.Get(context.Background(), "cert"); !tok.HasClientKey || tok.ClientAuth != provider.ClientAuthPrivateKeyJWT || tok.KeyExpiresOn.IsZero() {
		t.Fatalf("after an edit: key %v, auth %q, expiry %v", tok.HasClientKey, tok.ClientAuth, tok.KeyExpiresOn)
	}
	edit.Set("client_key_remove", "1")
	b.get(id + "/edit")
	if r := b.post(id+"/edit", edit); r.status != http.StatusBadRequest || !strings.Contains(r.body, "Client Secret is required") {
		t.Fatalf("remove without a secret: %d %s", r.status, flashOrErrors(r.body))
	}
	edit.Set("client_secret", h.World.MSSecret)
	if r := b.post(id+"/edit", edit); r.status != http.StatusSeeOther {
		t.Fatalf("remove: %d %s", r.status, flashOrErrors(r.body))
	}
	if tok, _ = h.Store.Get(context.Background(), "cert"); tok.HasClientKey || tok.ClientAuth != "" || !tok.KeyExpiresOn.IsZero() {
		t.Fatalf("after removal: key %v, auth %q", tok.HasClientKey, tok.ClientAuth)
	}
}

// Google with a service account: the JSON key instead of a client, the
// Get app-only token button, and a token for the mailbox.
func TestServiceAccountForm(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	_, token := h.IDP.Endpoints(h.World, provider.Google)
	id := b.addToken(url.Values{"name": {"sa"}, "type": {"google"}, "email": {h.World.GoogleUser},
		"token_url": {token}, "client_key": {h.World.GoogleServiceAccountKey}})
	body := b.get(id).body
	leaks(t, body, h.World.GoogleServiceAccountKey)
	if !strings.Contains(body, "service account "+h.World.GoogleServiceAccount) || !strings.Contains(body, "Get app-only token") {
		t.Fatalf("page: %s", text(body))
	}
	r := b.post(id+"/apponly", nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "is valid until") || strings.Contains(msg, "no refresh token") {
		t.Fatalf("app-only: %s", msg)
	}
	tok, _ := h.Store.Get(context.Background(), "sa")
	if in := h.IDP.Introspect(tok.AccessToken.Reveal()); tok.Grant != tokenstore.GrantServiceAccount || in.Username != h.World.GoogleUser {
		t.Fatalf("service account token: grant %s, %+v", tok.Grant, in)
	}
	// A Google token without a key offers no app-only token.
	gid := b.addToken(h.googleForm("gmail"))
	if strings.Contains(b.get(gid).body, "Get app-only token") {
		t.Error("Google without a service account offers Get app-only token")
	}
}
