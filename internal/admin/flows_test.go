package admin

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/tokenstore"
)

func TestGetEmailTokenMicrosoftAndGoogle(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	for _, c := range []struct {
		form  url.Values
		email string
	}{{h.msForm("support"), h.World.MSUser}, {h.googleForm("gmail"), h.World.GoogleUser}} {
		id := b.addToken(c.form)
		if r := b.get("/"); !strings.Contains(text(r.body), "not yet authorized") {
			t.Fatalf("new token status: %s", text(r.body))
		}
		r := b.getEmailToken(id, c.email)
		if r.status != http.StatusSeeOther || r.location != "/" {
			t.Fatalf("callback: %d %q %s", r.status, r.location, flashOrErrors(r.body))
		}
		list := b.get("/")
		if !strings.Contains(flashOrErrors(list.body), "is valid until") {
			t.Fatalf("no success message: %s", flashOrErrors(list.body))
		}
		tok, _ := h.Store.Get(t.Context(), c.form.Get("name"))
		if tok.Status != tokenstore.StatusValid || !tok.HasRefreshToken || tok.Grant != tokenstore.GrantAuthorizationCode {
			t.Fatalf("token after sign-in: %s %v", tok.Status, tok.HasRefreshToken)
		}
		if !strings.Contains(text(list.body), "valid · expires in 1 h") {
			t.Fatalf("list does not show the token valid with its expiry: %s", text(list.body))
		}
		ev, _ := h.Store.Events(t.Context(), tok.Name, 1)
		if ev[0].Kind != tokenstore.EventAuthorized || ev[0].Actor != "admin:"+adminName {
			t.Fatalf("event: %+v", ev[0])
		}
	}
}

func TestCallbackRefusals(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))

	// Replay: the same answer from the provider a second time.
	r := b.post(id+"/authorize", nil)
	back, err := h.IDP.SignIn(context.Background(), r.location, h.World.MSUser, h.World.Password)
	if err != nil {
		t.Fatal(err)
	}
	if r := b.do(http.MethodGet, b.callback(back), nil); r.location != "/" {
		t.Fatalf("first use: %d %q", r.status, r.location)
	}
	b.get("/")
	r = b.do(http.MethodGet, b.callback(back), nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "did not match a sign-in started here") {
		t.Fatalf("replayed state: %s", msg)
	}

	// Expired: the sign-in took longer than ten minutes.
	r = b.post(id+"/authorize", nil)
	back, _ = h.IDP.SignIn(context.Background(), r.location, h.World.MSUser, h.World.Password)
	h.Clock.Advance(stateLifetime + time.Minute)
	r = b.do(http.MethodGet, b.callback(back), nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "longer than 10 minutes") {
		t.Fatalf("expired state: %s", msg)
	}

	// Another admin's session cannot finish this admin's sign-in.
	b.get("/")
	r = b.post(id+"/authorize", nil)
	back, _ = h.IDP.SignIn(context.Background(), r.location, h.World.MSUser, h.World.Password)
	other := h.browser().login()
	r = other.do(http.MethodGet, other.callback(back), nil)
	if msg := flashOrErrors(other.get(r.location).body); !strings.Contains(msg, "did not match") {
		t.Fatalf("state of another session: %s", msg)
	}

	// No session at all.
	anon := h.browser()
	if r := anon.do(http.MethodGet, anon.callback(back), nil); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "session ended") {
		t.Fatalf("callback without a session: %d", r.status)
	}

	// The user cancels at the provider: the provider's error, explained.
	b.get("/")
	r = b.post(id+"/authorize", nil)
	back, err = h.IDP.Decline(context.Background(), r.location, h.World.MSUser, h.World.Password)
	if err != nil {
		t.Fatal(err)
	}
	r = b.do(http.MethodGet, b.callback(back), nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "failed") || !strings.Contains(msg, "AADSTS65004") || !strings.Contains(msg, "accept") {
		t.Fatalf("declined consent: %s", msg)
	}
	tok, _ := h.Store.Get(t.Context(), "support")
	if tok.Status != tokenstore.StatusValid {
		t.Fatalf("the refusals changed the token: %s", tok.Status)
	}
}

func TestDeviceCodeSignIn(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	r := b.post(id+"/device", nil)
	if r.status != http.StatusSeeOther || r.location != id+"/device" {
		t.Fatalf("start: %d %q %s", r.status, r.location, flashOrErrors(b.get(id).body))
	}
	page := b.get(id + "/device")
	m := regexpFind(`id="user-code">([^<]+)<`, page.body)
	if m == "" || !strings.Contains(page.body, `http-equiv="refresh"`) || !strings.Contains(page.body, h.IDP.URL()+"/devicelogin") {
		t.Fatalf("device page: %s", text(page.body))
	}
	if err := h.IDP.ApproveDevice(context.Background(), m, h.World.MSUser, h.World.Password); err != nil {
		t.Fatal(err)
	}
	// The page reloads itself until the background poll saw the approval.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		r = b.get(id + "/device")
		if r.status == http.StatusSeeOther {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("device sign-in never completed: %s", text(r.body))
		case <-tick.C:
		}
	}
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "is valid until") {
		t.Fatalf("after approval: %s", msg)
	}
	tok, _ := h.Store.Get(t.Context(), "support")
	if tok.Grant != tokenstore.GrantDeviceCode || tok.Status != tokenstore.StatusValid {
		t.Fatalf("token: %s %s", tok.Grant, tok.Status)
	}

	// Google's mail scope: refused with the reason, pointing to Get Email Token.
	gid := b.addToken(h.googleForm("gmail"))
	r = b.post(gid+"/device", nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "does not allow the Gmail scope") || !strings.Contains(msg, "Get Email Token") {
		t.Fatalf("Google device flow: %s", msg)
	}
}

func TestPasteAppOnlyRefreshDefaultRevokeDelete(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()

	// Paste: bad input first, then the provider's JSON.
	id := b.addToken(h.msForm("pasted"))
	b.get(id + "/paste")
	r := b.post(id+"/paste", url.Values{"json": {`{"refresh_token":"x"}`}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.body, "Token response: ") || !strings.Contains(r.body, "no access_token") {
		t.Fatalf("paste without access token: %d %s", r.status, flashOrErrors(r.body))
	}
	at, rt, err := h.IDP.MintToken(context.Background(), h.World, "microsoft", h.World.MSUser)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(map[string]any{"access_token": at, "refresh_token": rt, "expires_in": 3599, "token_type": "Bearer"})
	if r := b.post(id+"/paste", url.Values{"json": {string(js)}}); r.status != http.StatusSeeOther {
		t.Fatalf("paste: %d %s", r.status, flashOrErrors(r.body))
	}
	tok, _ := h.Store.Get(t.Context(), "pasted")
	if tok.AccessToken.Reveal() != at || tok.RefreshToken.Reveal() != rt || tok.Grant != tokenstore.GrantPasted {
		t.Fatal("pasted tokens not stored")
	}

	// Refresh now uses the pasted refresh token.
	b.get(id)
	r = b.post(id+"/refresh", nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "refreshed") {
		t.Fatalf("refresh: %s", msg)
	}
	if len(h.IDP.Refreshes()) != 1 {
		t.Fatal("Refresh now did not refresh")
	}

	// App-only token.
	aid := b.addToken(h.msForm("app"))
	b.get(aid)
	r = b.post(aid+"/apponly", nil)
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "is valid until") {
		t.Fatalf("app-only: %s", msg)
	}
	if a, _ := h.Store.Get(t.Context(), "app"); a.Grant != tokenstore.GrantClientCredentials || !h.IDP.Introspect(a.AccessToken.Reveal()).AppOnly {
		t.Fatal("app-only token not stored")
	}

	// Default: at most one.
	b.post(id+"/default", nil)
	b.get("/")
	b.post(aid+"/default", nil)
	list, _ := h.Store.List(t.Context())
	defaults := 0
	for _, tk := range list {
		if tk.Default {
			defaults++
		}
	}
	if defaults != 1 {
		t.Fatalf("%d default tokens", defaults)
	}

	// Revoke a Google token: revoked at Google too.
	gid := b.addToken(h.googleForm("gmail"))
	b.getEmailToken(gid, h.World.GoogleUser)
	g, _ := h.Store.Get(t.Context(), "gmail")
	b.get(gid + "/revoke")
	r = b.confirm(gid + "/revoke")
	if msg := flashOrErrors(b.get(r.location).body); !strings.Contains(msg, "revoked") {
		t.Fatalf("revoke: %s", msg)
	}
	if h.IDP.Introspect(g.AccessToken.Reveal()).Active {
		t.Fatal("the access token still works at Google after Revoke")
	}

	// Delete: the confirmation names the task files using the token.
	h.useToken("pasted", tokenstore.ActorEvmail, "/etc/mailtokens/support-inbox.properties")
	confirm := b.get(id + "/delete")
	if !strings.Contains(confirm.body, "/etc/mailtokens/support-inbox.properties") {
		t.Fatalf("delete page does not name the task file: %s", text(confirm.body))
	}
	if r := b.confirm(id + "/delete"); r.location != "/" {
		t.Fatalf("delete: %d %q", r.status, r.location)
	}
	if _, err := h.Store.Get(t.Context(), "pasted"); err == nil {
		t.Fatal("token not deleted")
	}
	if r := b.get(id); r.status != http.StatusNotFound {
		t.Fatalf("deleted token's page: %d", r.status)
	}
	// Its log stays readable on the event log.
	if log := text(b.get("/events").body); !strings.Contains(log, "pasted (deleted) deleted") || !strings.Contains(log, "pasted (deleted) created") {
		t.Fatalf("the event log does not show the deleted token's events: %s", log)
	}
}

func TestHealthzAndMetrics(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *Config) { c.MetricsToken = "prometheus-secret" })
	b := h.browser().login()
	id := b.addToken(h.msForm("support desk"))
	b.getEmailToken(id, h.World.MSUser)

	anon := h.browser()
	r := anon.get("/healthz")
	if r.status != http.StatusOK || !strings.Contains(r.body, `"status":"ok"`) || !strings.Contains(r.body, `"key":"matches"`) ||
		!strings.Contains(r.body, fmt.Sprintf(`"engine":%q`, h.Store.DB().Engine())) || !strings.Contains(r.body, `"schema":`) {
		t.Fatalf("healthz: %d %s", r.status, r.body)
	}
	if r := anon.get("/metrics"); r.status != http.StatusUnauthorized {
		t.Fatalf("metrics without credentials: %d", r.status)
	}
	if r := anon.do(http.MethodGet, "/metrics", nil, "Authorization", "Bearer wrong"); r.status != http.StatusUnauthorized {
		t.Fatalf("metrics with a wrong token: %d", r.status)
	}
	r = anon.do(http.MethodGet, "/metrics", nil, "Authorization", "Bearer prometheus-secret")
	if r.status != http.StatusOK {
		t.Fatalf("metrics: %d", r.status)
	}
	for _, want := range []string{
		`mailtokens_token_access_expiry_seconds{token="support desk",type="microsoft"} 35`,
		`mailtokens_token_status{token="support desk",type="microsoft",status="valid"} 1`,
		`mailtokens_token_status{token="support desk",type="microsoft",status="new"} 0`,
		`mailtokens_token_refresh_failures{token="support desk",type="microsoft"} 0`,
		`# TYPE mailtokens_token_last_refresh_timestamp_seconds gauge`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q:\n%s", want, r.body)
		}
	}
	// A session works too.
	if r := b.get("/metrics"); r.status != http.StatusOK {
		t.Fatalf("metrics with a session: %d", r.status)
	}
	// The store gone: healthz says so.
	h.Store.Close()
	if r := anon.get("/healthz"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("healthz with the store closed: %d", r.status)
	}
}

// TestNoSecretInPagesOrLogs walks every page after every kind of grant and
// looks for the client secrets, access and refresh tokens in what a browser
// receives and in the log.
func TestNoSecretInPagesOrLogs(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	ms := b.addToken(h.msForm("ms"))
	b.getEmailToken(ms, h.World.MSUser)
	g := b.addToken(h.googleForm("g"))
	b.getEmailToken(g, h.World.GoogleUser)
	b.get(ms)
	b.post(ms+"/refresh", nil)
	app := b.addToken(h.msForm("app"))
	b.get(app)
	b.post(app+"/apponly", nil)
	bad := h.msForm("bad")
	bad.Set("tenant", "")
	bodies := []string{b.post("/tokens", bad).body}

	var secrets []string
	for _, name := range []string{"ms", "g", "app"} {
		tok, err := h.Store.Get(t.Context(), name)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{tok.ClientSecret.Reveal(), tok.AccessToken.Reveal(), tok.RefreshToken.Reveal()} {
			if s != "" {
				secrets = append(secrets, s)
			}
		}
	}
	if len(secrets) < 8 {
		t.Fatalf("only %d secrets to look for", len(secrets))
	}
	for _, p := range []string{"/", ms, ms + "/edit", ms + "/paste", ms + "/delete", g, g + "/edit", app, "/tokens/new", "/metrics", "/healthz"} {
		r := b.get(p)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", p, r.status)
		}
		bodies = append(bodies, r.body)
	}
	bodies = append(bodies, h.logBuf.String())
	for _, body := range bodies {
		for _, s := range secrets {
			if strings.Contains(body, s) {
				t.Fatalf("a secret (%.8s…) appears in a page or the log", s)
			}
			// A JWT's payload alone would be a leak too.
			if parts := strings.Split(s, "."); len(parts) == 3 && strings.Contains(body, parts[1]) {
				t.Fatal("an access token's payload appears in a page or the log")
			}
		}
	}
	if !strings.Contains(h.logBuf.String(), "token authorized") {
		t.Fatal("the log is empty; the check proves nothing")
	}
}

// The device page says how long the code lasts in minutes and can be
// cancelled: the flow is forgotten, its poll stops (a later approval at
// the provider saves nothing) and no failed sign-in is recorded. Google
// tokens offer no device-code button, which could only fail.
func TestDevicePageMinutesAndCancel(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	if !strings.Contains(b.get(id).body, "Sign in with a device code") {
		t.Fatal("no device-code button for a Microsoft token")
	}
	gid := b.addToken(h.googleForm("gmail"))
	if page := b.get(gid); strings.Contains(page.body, "device code") || strings.Contains(page.body, gid+"/device") {
		t.Fatalf("a Google token offers the device code: %s", text(page.body))
	}

	b.post(id+"/device", nil)
	page := b.get(id + "/device")
	code := regexpFind(`id="user-code">([^<]+)<`, page.body)
	if !regexpMatch(`The code expires in 1?\d min\.`, page.body) || strings.Contains(page.body, "seconds") {
		t.Fatalf("device page: %s", text(page.body))
	}
	if !regexpMatch(`<form method="post" action="`+id+`/device/cancel"[^>]*>.*<button type="submit">Cancel</button>`, page.body) {
		t.Fatalf("no Cancel on the device page: %s", page.body)
	}
	r := b.post(id+"/device/cancel", nil)
	if r.status != http.StatusSeeOther || r.location != id {
		t.Fatalf("cancel: %d %q", r.status, r.location)
	}
	if msg := flashOrErrors(b.get(id).body); !strings.Contains(msg, "device sign-in for support was cancelled") {
		t.Fatalf("after cancel: %s", msg)
	}
	if ev, _ := h.Store.Events(t.Context(), "support", 1); len(ev) != 1 || ev[0].Kind != tokenstore.EventSignInCancelled ||
		ev[0].Actor != tokenstore.AdminUser(adminName) {
		t.Fatalf("the token's log does not say the sign-in was cancelled, and by whom: %+v", ev)
	}
	if r := b.get(id + "/device"); r.status != http.StatusSeeOther || r.location != id {
		t.Fatalf("the cancelled flow is still shown: %d", r.status)
	}
	if err := h.IDP.ApproveDevice(context.Background(), code, h.World.MSUser, h.World.Password); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2500 * time.Millisecond) // more than two poll intervals
	tok, _ := h.Store.Get(t.Context(), "support")
	if tok.HasAccessToken || tok.LastError.Code != "" {
		t.Fatalf("after cancel and approval: access token %v, last error %+v", tok.HasAccessToken, tok.LastError)
	}
}

// The details page's buttons come in three labelled groups: using the
// token, changing it, and the dangerous ones.
func TestShowActionsGrouped(t *testing.T) {
	h := newHarness(t, func(h *harness, c *Config) { c.Tester = mailconn.Tester{} })
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	b.getEmailToken(id, h.World.MSUser)
	body := b.get(id).body
	groups := map[string][]string{
		"use":    {"Get Email Token", "Sign in with a device code", "Paste tokens", "Get app-only token", "Refresh now", ">Test<"},
		"change": {"Set as default", ">Edit<"},
		"danger": {">Revoke<", ">Delete<"},
	}
	all := regexp.MustCompile(`(?s)<div class="action-group[^"]*" role="group" aria-labelledby="actions-(\w+)">\s*<h2 class="action-heading" id="actions-(\w+)">(\w+)</h2>(.*?)</div>\s*</div>`).FindAllStringSubmatch(body, -1)
	if len(all) != 3 {
		t.Fatalf("%d action groups, want 3: %s", len(all), regexpFind(`(?s)(<div class="actions-bar">.*?)<section`, body))
	}
	for _, g := range all {
		if g[1] != g[2] {
			t.Errorf("group %s is labelled by %s", g[1], g[2])
		}
		for _, want := range groups[g[1]] {
			if !strings.Contains(g[4], want) {
				t.Errorf("group %s (%s) lacks %s", g[1], g[3], want)
			}
		}
		for other, buttons := range groups {
			for _, b := range buttons {
				if other != g[1] && strings.Contains(g[4], b) {
					t.Errorf("%s is in group %s, not %s", b, g[1], other)
				}
			}
		}
	}
}
