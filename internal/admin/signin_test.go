package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// rowText is what the list shows for the token at path (its row only).
func rowText(t *testing.T, b *browser, path string) (status, body string) {
	t.Helper()
	id := strings.TrimPrefix(path, "/tokens/")
	page := b.get("/").body
	row := regexpFind(`(?s)(<tr id="token-`+id+`".*?</tr>)`, page)
	if row == "" {
		t.Fatalf("no row for %s in the list", path)
	}
	return regexpFind(`data-status="([^"]+)"`, row), row
}

func TestSignInAsAnotherAccount(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	other := "other.person@gmail.example"
	h.IDP.AddUser(idp.User{Email: other, Password: h.World.Password, Provider: provider.Google})
	for _, c := range []struct {
		form           url.Values
		mailbox, alias string
	}{
		{h.msForm("support"), h.World.MSUser, h.World.MSOtherUser},
		{h.googleForm("gmail"), h.World.GoogleUser, other},
	} {
		id := b.addToken(c.form)
		// The callback says so at once: the two addresses and two choices.
		r := b.getEmailToken(id, c.alias)
		if r.status != http.StatusSeeOther || r.location != id+"/account" {
			t.Fatalf("callback after signing in as %s: %d %q", c.alias, r.status, r.location)
		}
		page := text(b.get(r.location).body)
		for _, want := range []string{
			"signed in as " + c.alias, "Email Address is " + c.mailbox,
			"Yes, " + c.alias + " has access to " + c.mailbox + " (shared mailbox)",
			"Sign in again as " + c.mailbox,
		} {
			if !strings.Contains(page, want) {
				t.Fatalf("account page lacks %q: %s", want, page)
			}
		}
		if !strings.Contains(b.last, `action="`+id+`/authorize"`) {
			t.Fatal("no Get Email Token on the account page")
		}
		// The list and the token page mark the mismatch.
		status, row := rowText(t, b, id)
		if status != "valid" || !strings.Contains(text(row), "signed in as "+c.alias) || !strings.Contains(row, `class="tag bad mismatch"`) {
			t.Fatalf("list row: %s %s", status, text(row))
		}
		if show := b.get(id).body; !strings.Contains(text(show), "signed in as "+c.alias) || !strings.Contains(show, "mismatch") {
			t.Fatalf("token page: %s", text(show))
		}

		// Confirm: recorded as an event; the note says "confirmed".
		b.get(id + "/account")
		r = b.post(id+"/account", url.Values{"account": {c.alias}})
		if r.status != http.StatusSeeOther || r.location != id {
			t.Fatalf("confirm: %d %q %s", r.status, r.location, flashOrErrors(b.get(id).body))
		}
		if msg := flashOrErrors(b.get(id).body); !strings.Contains(msg, "has access to "+c.mailbox) {
			t.Fatalf("after confirming: %s", msg)
		}
		name := c.form.Get("name")
		ev, _ := h.Store.Events(t.Context(), name, 1)
		if ev[0].Kind != tokenstore.EventAccountConfirmed || ev[0].Actor != "admin:"+adminName || !strings.Contains(ev[0].Text, c.alias) {
			t.Fatalf("event: %+v", ev[0])
		}
		_, row = rowText(t, b, id)
		if strings.Contains(row, "mismatch") || !strings.Contains(text(row), "signed in as "+c.alias+" (confirmed:") {
			t.Fatalf("list row after confirming: %s", text(row))
		}

		// The mailbox's own account: no question asked.
		if r := b.getEmailToken(id, c.mailbox); r.location != "/" {
			t.Fatalf("sign-in as the mailbox: %d %q", r.status, r.location)
		}
		if _, row := rowText(t, b, id); !strings.Contains(text(row), "signed in as "+c.mailbox) || strings.Contains(row, "mismatch") {
			t.Fatalf("list row after signing in as the mailbox: %s", text(row))
		}
	}
}

func TestFailedSignInIsRecorded(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	form := h.msForm("support")
	form.Set("client_secret", "the-secret-id-not-its-value")
	id := b.addToken(form)
	setSecret := func(v string) {
		t.Helper()
		tok, err := h.Store.Get(t.Context(), "support")
		if err != nil {
			t.Fatal(err)
		}
		set := tok.Settings
		set.ClientSecret = secret.New(v)
		if _, err := h.Store.Update(t.Context(), "support", set, "test"); err != nil {
			t.Fatal(err)
		}
	}
	check := func(step, wantStatus, wantCode string) {
		t.Helper()
		tok, _ := h.Store.Get(t.Context(), "support")
		if string(tok.Status) != wantStatus || tok.LastError.Op != tokenstore.OpSignIn || tok.LastError.Code != wantCode {
			t.Fatalf("%s: token %s, last error %+v", step, tok.Status, tok.LastError)
		}
		ev, _ := h.Store.Events(t.Context(), "support", 1)
		if ev[0].Kind != tokenstore.EventSignInFailed || ev[0].Actor != "admin:"+adminName {
			t.Fatalf("%s: event %+v", step, ev[0])
		}
		status, row := rowText(t, b, id)
		if status != wantStatus || !strings.Contains(text(row), "Last sign-in failed") {
			t.Fatalf("%s: list row %s %s", step, status, text(row))
		}
		if show := text(b.get(id).body); !strings.Contains(show, "Last sign-in failed") || !strings.Contains(show, wantCode) {
			t.Fatalf("%s: token page %s", step, show)
		}
	}
	cleared := func(step string) {
		t.Helper()
		tok, _ := h.Store.Get(t.Context(), "support")
		if tok.Status != tokenstore.StatusValid || !tok.LastError.IsZero() {
			t.Fatalf("%s: %s %+v", step, tok.Status, tok.LastError)
		}
		if _, row := rowText(t, b, id); strings.Contains(text(row), "sign-in failed") {
			t.Fatalf("%s: list row %s", step, text(row))
		}
	}

	// A wrong client secret at the code exchange: explained once, and kept;
	// the new token stays new.
	r := b.getEmailToken(id, h.World.MSUser)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "AADSTS7000215") {
		t.Fatalf("wrong secret: %s", msg)
	}
	check("wrong secret on a new token", "new", "invalid_client")
	if _, row := rowText(t, b, id); !strings.Contains(text(row), "not yet authorized") || !strings.Contains(text(row), "secret") {
		t.Fatalf("the row does not explain the failed sign-in: %s", text(row))
	}
	setSecret(h.World.MSSecret)
	b.getEmailToken(id, h.World.MSUser)
	cleared("sign-in after fixing the secret")

	// Cancelled consent on a valid token: recorded, the token stays valid.
	b.get("/")
	r = b.post(id+"/authorize", nil)
	back, err := h.IDP.Decline(context.Background(), r.location, h.World.MSUser, h.World.Password)
	if err != nil {
		t.Fatal(err)
	}
	b.do(http.MethodGet, b.callback(back), nil)
	check("cancelled consent on a valid token", "valid", "access_denied")
	b.getEmailToken(id, h.World.MSUser)
	cleared("sign-in after cancelling")

	// A wrong secret on a valid token: still valid, still usable.
	setSecret("wrong-again")
	b.getEmailToken(id, h.World.MSUser)
	check("wrong secret on a valid token", "valid", "invalid_client")
	if tok, _ := h.Store.Get(t.Context(), "support"); !tok.HasAccessToken || !tok.Expiry.After(h.Clock.Now()) {
		t.Fatal("a failed sign-in took the valid token away")
	}
	setSecret(h.World.MSSecret)
	b.getEmailToken(id, h.World.MSUser)
	cleared("sign-in after the second fix")
}

func TestFailedDeviceSignInIsRecorded(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	b.post(id+"/device", nil)
	code := regexpFind(`id="user-code">([^<]+)<`, b.get(id+"/device").body)
	if err := h.IDP.DeclineDevice(context.Background(), code, h.World.MSUser, h.World.Password); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for !strings.Contains(b.get(id+"/device").body, "did not complete") {
		select {
		case <-ctx.Done():
			t.Fatalf("the declined device sign-in never ended: %s", text(b.last))
		case <-tick.C:
		}
	}
	tok, _ := h.Store.Get(t.Context(), "support")
	ev, _ := h.Store.Events(t.Context(), "support", 1)
	if tok.Status != tokenstore.StatusNew || tok.LastError.Op != tokenstore.OpSignIn || ev[0].Kind != tokenstore.EventSignInFailed {
		t.Fatalf("declined device sign-in: %s %+v %+v", tok.Status, tok.LastError, ev[0])
	}

	// Refused before it starts (Google's mail scope): recorded too.
	gid := b.addToken(h.googleForm("gmail"))
	b.post(gid+"/device", nil)
	if ev, _ := h.Store.Events(t.Context(), "gmail", 1); ev[0].Kind != tokenstore.EventSignInFailed || ev[0].Code != "invalid_scope" {
		t.Fatalf("Google device flow: %+v", ev[0])
	}
}
