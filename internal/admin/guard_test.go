package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/tokenstore"
)

// TestGuardedActionsAskFirst: revoke, app-only over a delegated token,
// rename and delete break the task files that use the token. The first
// request changes nothing and answers with a page naming those files, who
// runs them and when they were last used; only the confirmed request acts.
func TestGuardedActionsAskFirst(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	const inbox, notify = "/etc/mailtokens/support-inbox.properties", "/etc/mailtokens/notify.properties"
	const newSecret = "a-new-client-secret-typed-with-the-rename"
	cases := []struct {
		action string
		form   func(name string) url.Values // of the first request
		words  []string                     // the confirmation page says
		done   func(t *testing.T, name string, next string)
	}{
		{"apponly", nil, []string{"app-only", "refresh token", "lost"}, func(t *testing.T, name, next string) {
			tok, _ := h.Store.Get(t.Context(), name)
			if tok.Grant != tokenstore.GrantClientCredentials || !h.IDP.Introspect(tok.AccessToken.Reveal()).AppOnly {
				t.Fatalf("after the confirmed app-only: grant %s", tok.Grant)
			}
		}},
		{"revoke", nil, []string{"Revoke", "until", "Get Email Token"}, func(t *testing.T, name, next string) {
			if tok, _ := h.Store.Get(t.Context(), name); tok.Status != tokenstore.StatusRevoked {
				t.Fatalf("after the confirmed revoke: %s", tok.Status)
			}
		}},
		{"edit", func(name string) url.Values {
			f := h.msForm(name + " renamed")
			f.Set("client_secret", newSecret)
			return f
		}, []string{"renamed", "must be edited", "MAILBOX_EMAIL_TOKEN_NAME"}, func(t *testing.T, name, next string) {
			if _, err := h.Store.Get(t.Context(), name); !errors.Is(err, tokenstore.ErrNotFound) {
				t.Fatalf("the old name still exists: %v", err)
			}
			tok, err := h.Store.Get(t.Context(), name+" renamed")
			if err != nil || tok.ClientSecret.Reveal() != newSecret {
				t.Fatalf("after the confirmed rename: %v (new secret saved: %v)", err, err == nil && tok.ClientSecret.Reveal() == newSecret)
			}
			// After saving, the message says which task files to edit.
			msg := flashOrErrors(next)
			for _, want := range []string{name + " renamed", inbox, notify, "edit"} {
				if !strings.Contains(msg, want) {
					t.Errorf("the message after the rename lacks %q: %s", want, msg)
				}
			}
		}},
		{"delete", nil, []string{"Delete", "stop working"}, func(t *testing.T, name, next string) {
			if _, err := h.Store.Get(t.Context(), name); !errors.Is(err, tokenstore.ErrNotFound) {
				t.Fatalf("after the confirmed delete: %v", err)
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.action, func(t *testing.T) {
			name := "support " + c.action
			id := b.addToken(h.msForm(name))
			b.getEmailToken(id, h.World.MSUser)
			h.useToken(name, tokenstore.ActorEvmail, inbox)
			h.Clock.Advance(3 * time.Minute)
			h.useToken(name, tokenstore.ActorBatchmail, notify)
			h.storeExec(t, `UPDATE token_tasks SET last_ok_at = `+strconv.FormatInt(h.Clock.Now().UnixMilli(), 10)+` WHERE task = '`+notify+`'`)
			h.Clock.Advance(5 * time.Minute)
			before, _ := h.Store.Get(t.Context(), name)

			b.get(id)
			var form url.Values
			if c.form != nil {
				form = c.form(name)
			}
			r := b.post(id+"/"+c.action, form)
			if r.status != http.StatusOK {
				t.Fatalf("first request: %d %q %s, want the confirmation page", r.status, r.location, flashOrErrors(r.body))
			}
			page := text(r.body)
			for _, want := range append([]string{inbox, notify, "evmail", "batchmail",
				"last seen 8 min ago", "last seen 5 min ago", "last login OK 5 min ago"}, c.words...) {
				if !strings.Contains(page, want) {
					t.Errorf("the confirmation page lacks %q: %s", want, page)
				}
			}
			if strings.Contains(r.body, newSecret) {
				t.Fatal("the confirmation page holds the typed client secret")
			}
			after, err := h.Store.Get(t.Context(), name)
			if err != nil || after.Generation != before.Generation || after.Grant != before.Grant || after.Status != before.Status ||
				after.RefreshToken.Reveal() != before.RefreshToken.Reveal() || !after.UpdatedAt.Equal(before.UpdatedAt) {
				t.Fatalf("the first request changed the token: %v %+v", err, after)
			}

			r = b.confirm(id + "/" + c.action)
			if r.status != http.StatusSeeOther {
				t.Fatalf("confirmed request: %d %s", r.status, flashOrErrors(r.body))
			}
			c.done(t, name, b.get(r.location).body)
		})
	}
}

// TestConfirmationIsForOneAction: a confirmation works once, for the
// action, token and session it was made for.
func TestConfirmationIsForOneAction(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	b.getEmailToken(id, h.World.MSUser)
	h.useToken("support", tokenstore.ActorEvmail, "/etc/mailtokens/support-inbox.properties")

	// Made for revoke, offered to delete.
	b.get(id + "/revoke")
	if r := b.confirm(id + "/delete"); r.status != http.StatusSeeOther || !strings.Contains(flashOrErrors(b.get(r.location).body), "Nothing was done") {
		t.Fatalf("a revoke confirmation offered to delete: %d %q", r.status, r.location)
	}
	// Made by another admin's session.
	other := h.browser().login()
	other.get(id + "/delete")
	key := confirmRE.FindStringSubmatch(other.last)[1]
	b.get(id)
	if r := b.post(id+"/delete", url.Values{"confirm": {key}}); r.status != http.StatusSeeOther || !strings.Contains(flashOrErrors(b.get(r.location).body), "Nothing was done") {
		t.Fatalf("another session's confirmation: %d %q", r.status, r.location)
	}
	// Used twice.
	b.get(id + "/revoke")
	page := b.last
	if r := b.confirm(id + "/revoke"); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", r.status)
	}
	b.last = page
	b.confirm(id + "/revoke")
	if msg := flashOrErrors(b.get(id).body); !strings.Contains(msg, "Nothing was done") {
		t.Fatalf("a confirmation used twice: %s", msg)
	}
	if _, err := h.Store.Get(t.Context(), "support"); err != nil {
		t.Fatalf("the token is gone: %v", err)
	}
}

// TestNoConfirmationWhenNothingBreaks: app-only on a token without a
// delegated token, an edit that keeps the name, and a rename of the case
// only (names are the same to the store whatever their case) act at once.
func TestNoConfirmationWhenNothingBreaks(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	h.useToken("support", tokenstore.ActorEvmail, "/etc/mailtokens/support-inbox.properties")
	b.get(id)
	if r := b.post(id+"/apponly", nil); r.status != http.StatusSeeOther {
		t.Fatalf("app-only on a new token: %d %s", r.status, flashOrErrors(r.body))
	}
	form := h.msForm("support")
	form.Set("email", "help@example.com")
	if r := b.post(id+"/edit", form); r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", r.status, flashOrErrors(r.body))
	}
	form.Set("name", "Support")
	if r := b.post(id+"/edit", form); r.status != http.StatusSeeOther {
		t.Fatalf("rename of the case: %d %s", r.status, flashOrErrors(r.body))
	}
	if tok, err := h.Store.Get(t.Context(), "support"); err != nil || tok.Name != "Support" || tok.Email != "help@example.com" {
		t.Fatalf("after the edits: %v %+v", err, tok)
	}
	// A rename to a name that is taken is refused before asking.
	b.addToken(h.msForm("other"))
	form.Set("name", "OTHER")
	if r := b.post(id+"/edit", form); r.status != http.StatusBadRequest || !strings.Contains(r.body, "exists already") {
		t.Fatalf("rename to a taken name: %d %s", r.status, flashOrErrors(r.body))
	}
}
