package admin

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"mailtokens/internal/admin/accounts"
)

// accountEvents is the account log as "kind admin by actor", oldest first.
func accountEvents(t *testing.T, h *harness) []string {
	t.Helper()
	ev, err := h.srv.accounts.Events(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(ev) - 1; i >= 0; i-- {
		out = append(out, string(ev[i].Kind)+" "+ev[i].Admin+" by "+ev[i].Actor)
	}
	return out
}

func adminID(t *testing.T, h *harness, name string) string {
	t.Helper()
	list, err := h.srv.accounts.List(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range list {
		if a.Name == name {
			return adminURL(&a)
		}
	}
	t.Fatalf("no admin %s", name)
	return ""
}

func TestAdminListAndDelete(t *testing.T) {
	h := newHarness(t)
	addAdmin(t, h, "bob", "bob's long password")
	alice := h.browser().login()
	bob := h.browser()
	if r := bob.loginAs("bob", "bob's long password"); r.status != http.StatusSeeOther {
		t.Fatalf("bob: %d", r.status)
	}
	page := text(alice.get("/admins").body)
	for _, want := range []string{"alice (you)", "bob", "Change my password", "created bob cli", "logged_in bob admin:bob from 127.0.0.1"} {
		if !strings.Contains(page, want) {
			t.Errorf("admins page lacks %q:\n%s", want, page)
		}
	}
	bobURL := adminID(t, h, "bob")
	if r := alice.get(bobURL + "/delete"); r.status != http.StatusOK || !strings.Contains(text(r.body), "Delete admin bob?") {
		t.Fatalf("confirm page: %d %s", r.status, text(r.body))
	}
	// The form needs the session's CSRF token, like every other.
	if r := alice.do(http.MethodPost, bobURL+"/delete", url.Values{"csrf": {"forged"}}); r.status != http.StatusForbidden {
		t.Fatalf("delete with a forged CSRF token: %d", r.status)
	}
	if r := alice.post(bobURL+"/delete", nil); r.status != http.StatusSeeOther || r.location != "/admins" {
		t.Fatalf("delete bob: %d %q", r.status, r.location)
	}
	if got := flashOrErrors(alice.get("/admins").body); got != "ok: Admin bob deleted." {
		t.Fatalf("after deleting bob: %q", got)
	}
	if r := bob.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("bob's session after his deletion: %d", r.status)
	}
	if r := h.browser().loginAs("bob", "bob's long password"); r.status != http.StatusUnauthorized {
		t.Fatalf("bob logs in after his deletion: %d", r.status)
	}

	// Alice is the last admin: no Delete button, and the post is refused.
	if strings.Contains(alice.get("/admins").body, "/delete") {
		t.Error("the last admin has a Delete button")
	}
	aliceURL := adminID(t, h, "alice")
	alice.get("/admins")
	if r := alice.post(aliceURL+"/delete", nil); r.status != http.StatusSeeOther {
		t.Fatalf("delete the last admin: %d", r.status)
	}
	if got := flashOrErrors(alice.get("/admins").body); !strings.Contains(got, "bad: The last admin cannot be deleted.") {
		t.Fatalf("deleting the last admin: %q", got)
	}
	if n, _ := h.srv.accounts.AdminCount(t.Context()); n != 1 {
		t.Fatalf("%d admins after deleting the last", n)
	}
	want := []string{"created alice by cli", "created bob by cli", "logged_in alice by admin:alice", "logged_in bob by admin:bob", "deleted bob by admin:alice"}
	if got := accountEvents(t, h); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("account events:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// Two admins deleting each other at once: one of them remains.
func TestAdminDeleteConcurrentKeepsOne(t *testing.T) {
	h := newHarness(t)
	addAdmin(t, h, "bob", "bob's long password")
	alice := h.browser().login()
	bob := h.browser()
	bob.loginAs("bob", "bob's long password")
	aliceURL, bobURL := adminID(t, h, "alice"), adminID(t, h, "bob")
	aliceCSRF, bobCSRF := alice.csrf(), bob.csrf()
	var wg sync.WaitGroup
	wg.Go(func() { alice.do(http.MethodPost, bobURL+"/delete", url.Values{"csrf": {aliceCSRF}}) })
	wg.Go(func() { bob.do(http.MethodPost, aliceURL+"/delete", url.Values{"csrf": {bobCSRF}}) })
	wg.Wait()
	if n, _ := h.srv.accounts.AdminCount(t.Context()); n != 1 {
		t.Fatalf("%d admins left, want 1", n)
	}
}

func TestAdminChangesOwnPassword(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	other := h.browser().login() // alice in another browser
	const newPassword = "a brand new passphrase"
	if r := b.get("/admins/password"); r.status != http.StatusOK || !strings.Contains(r.body, `name="current"`) {
		t.Fatalf("password page: %d", r.status)
	}
	for _, c := range []struct {
		current, pw, again string
		status             int
		msg                string
	}{
		{adminPassword, newPassword, "something else entirely", http.StatusBadRequest, "The two new passwords differ."},
		{adminPassword, "short", "short", http.StatusBadRequest, "at least 12 characters"},
		{"not my password", newPassword, newPassword, http.StatusUnauthorized, "The current password is wrong."},
	} {
		r := b.post("/admins/password", url.Values{"current": {c.current}, "password": {c.pw}, "password_again": {c.again}})
		if r.status != c.status || !strings.Contains(text(r.body), c.msg) {
			t.Errorf("%+v: %d %s", c, r.status, flashOrErrors(r.body))
		}
	}
	if strings.Contains(h.logBuf.String(), "not my password") {
		t.Error("a password was logged")
	}
	r := b.post("/admins/password", url.Values{"current": {adminPassword}, "password": {newPassword}, "password_again": {newPassword}})
	if r.status != http.StatusSeeOther || r.location != "/admins" {
		t.Fatalf("change: %d %s", r.status, flashOrErrors(r.body))
	}
	if got := flashOrErrors(b.get("/admins").body); !strings.Contains(got, "ok: Your password was changed.") {
		t.Fatalf("this browser after the change: %q", got)
	}
	if r := other.get("/"); r.status != http.StatusSeeOther {
		t.Fatalf("the other browser's session after the change: %d", r.status)
	}
	if r := h.browser().loginAs(adminName, adminPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("the old password: %d", r.status)
	}
	if r := h.browser().loginAs(adminName, newPassword); r.status != http.StatusSeeOther {
		t.Fatalf("the new password: %d", r.status)
	}
	got := strings.Join(accountEvents(t, h), "\n")
	if !strings.Contains(got, "password_changed alice by admin:alice") {
		t.Fatalf("account events:\n%s", got)
	}
}

// Guessing the current password through an open session is throttled
// like a login.
func TestAdminPasswordChangeThrottled(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	var last response
	for range accounts.FreeAttempts + 1 {
		last = b.post("/admins/password", url.Values{"current": {"guess guess guess"}, "password": {"a brand new passphrase"}, "password_again": {"a brand new passphrase"}})
	}
	if last.status != http.StatusTooManyRequests {
		t.Fatalf("after %d wrong current passwords: %d", accounts.FreeAttempts+1, last.status)
	}
}
