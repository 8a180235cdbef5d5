package admin

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"mailtokens/internal/admin/form"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	chromium "mailtokens/internal/testenv/browser"
	"mailtokens/internal/tokenstore"
)

// TestPagesInBrowser looks at the forms and pages of issue 15 in a real
// Chromium (en-US), with screenshots (forms-*.png, in
// $MAILTOKENS_SCREENSHOTS when set): the add form for other providers, its
// errors, the details page's action groups, the device page and its
// Cancel, and the Test form filled from a task file.
func TestPagesInBrowser(t *testing.T) {
	h := newHarness(t, func(h *harness, c *Config) { c.Tester = mailconn.Tester{} })
	ctx := chromium.New(t)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			chromium.Screenshot(t, ctx, "forms-failed-"+strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	eval := func(js string) []string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](js))
		if err != nil {
			t.Fatalf("evaluate %s: %v", js, err)
		}
		return v
	}
	// visibleText is the text of the elements matching sel that show.
	visibleText := func(sel string) []string {
		return eval(fmt.Sprintf(`[...document.querySelectorAll(%q)].filter(e => e.offsetParent !== null).map(e => e.innerText.trim())`, sel))
	}

	do("log in", chromedp.Navigate(h.url+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), adminName),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty`)))

	// The add form, switched to "Other OAuth2 provider".
	do("open the add form", chromedp.Navigate(h.url+"/tokens/new"), chromedp.WaitVisible(chromedp.CSS(`form.token-form`)))
	if got := eval(`[document.querySelector("#tenant").placeholder]`)[0]; got != "00000000-0000-0000-0000-000000000000" {
		t.Errorf("Tenant ID placeholder %q", got)
	}
	do("choose other provider", chromedp.Click(chromedp.CSS(`input[name=type][value=generic]`)),
		chromedp.WaitVisible(chromedp.CSS(`#auth_url`)), chromedp.WaitVisible(chromedp.CSS(`#token_url`)),
		chromedp.WaitNotVisible(chromedp.CSS(`#tenant`)))
	chromium.Screenshot(t, ctx, "forms-01-add-other-provider")
	hints := visibleText(".token-form .hint, .token-form legend")
	for _, hint := range hints {
		if strings.Contains(hint, "Microsoft") || strings.Contains(hint, "Google") {
			t.Errorf("for other providers a hint speaks of Microsoft or Google: %q", hint)
		}
	}
	if !strings.Contains(strings.Join(hints, "\n"), "authorization endpoint and token endpoint") {
		t.Errorf("no hint about the other provider's URLs: %q", hints)
	}
	if got := visibleText("#redirect-uri"); len(got) != 1 || got[0] != h.url+"/oauth2/callback" {
		t.Errorf("redirect URI on the add form: %q", got)
	}
	if got := visibleText(`.form-redirect button.copy`); len(got) != 1 {
		t.Errorf("no Copy button beside the redirect URI: %q", got)
	}
	if got := eval(`[document.querySelector("#secret_expires_on").type, document.querySelector("#secret_expires_on").placeholder]`); got[0] != "text" || got[1] != "YYYY-MM-DD" {
		t.Errorf("the expiry field is %q", got)
	}

	// Saved with mistakes: every error a sentence starting with its label.
	do("save with mistakes", chromedp.SendKeys(chromedp.CSS(`#email`), "support"),
		chromedp.SendKeys(chromedp.CSS(`#secret_expires_on`), "06/30/2027"),
		chromedp.Click(chromedp.CSS(`.buttons button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.error-text`)))
	chromium.Screenshot(t, ctx, "forms-02-errors")
	ids := eval(`[...document.querySelectorAll(".error-text")].map(e => e.id.replace(/-error$/, ""))`)
	errs := visibleText(".error-text")
	if len(errs) < 5 || len(errs) != len(ids) {
		t.Fatalf("field errors shown: %q (%q)", errs, ids)
	}
	for i, e := range errs {
		if l := form.Label(ids[i]); !strings.HasPrefix(e, l+" ") && !strings.HasPrefix(e, l+": ") || !strings.HasSuffix(e, ".") {
			t.Errorf("not a sentence starting with %q: %q", l, e)
		}
	}

	// The details page: three groups of buttons.
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	b.getEmailToken(id, h.World.MSUser)
	gid := b.addToken(h.googleForm("gmail"))
	do("open the details page", chromedp.Navigate(h.url+id), chromedp.WaitVisible(chromedp.CSS(`.actions-bar`)))
	chromium.Screenshot(t, ctx, "forms-03-details")
	groups := eval(`[...document.querySelectorAll(".actions-bar [role=group]")].map(g =>
		document.getElementById(g.getAttribute("aria-labelledby")).textContent + ": " +
		[...g.querySelectorAll("button, a.button")].map(b => b.innerText.trim()).join(", "))`)
	want := []string{
		"Use: Get Email Token, Sign in with a device code, Paste tokens, Get app-only token, Refresh now, Test",
		"Change: Set as default, Edit",
		"Danger: Revoke, Delete",
	}
	if strings.Join(groups, "\n") != strings.Join(want, "\n") {
		t.Errorf("action groups:\n%s\nwant\n%s", strings.Join(groups, "\n"), strings.Join(want, "\n"))
	}
	// The groups are apart on the screen: each begins right of or below the last.
	boxes := eval(`[...document.querySelectorAll(".actions-bar [role=group]")].map(g => { const r = g.getBoundingClientRect(); return r.left + "," + r.top + "," + r.right + "," + r.bottom })`)
	for i := 1; i < len(boxes); i++ {
		var l0, t0, r0, b0, l1, t1, r1, b1 float64
		fmt.Sscanf(boxes[i-1], "%g,%g,%g,%g", &l0, &t0, &r0, &b0)
		fmt.Sscanf(boxes[i], "%g,%g,%g,%g", &l1, &t1, &r1, &b1)
		if !(l1 > r0 || t1 > b0) {
			t.Errorf("action groups %d and %d overlap: %s, %s", i-1, i, boxes[i-1], boxes[i])
		}
	}
	do("open the Google token", chromedp.Navigate(h.url+gid), chromedp.WaitVisible(chromedp.CSS(`.actions-bar`)))
	if got := visibleText(".actions-bar button"); strings.Contains(strings.Join(got, ","), "device") {
		t.Errorf("a Google token offers the device code: %q", got)
	}

	// The device page: minutes, and Cancel back to the token.
	do("start a device sign-in", chromedp.Navigate(h.url+id),
		chromedp.Click(chromedp.Search(`//button[contains(., "Sign in with a device code")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-code`)))
	chromium.Screenshot(t, ctx, "forms-04-device")
	waiting := visibleText(".waiting")
	if len(waiting) != 1 || !regexpMatch(`The code expires in 1?\d min\.`, waiting[0]) {
		t.Errorf("device page says %q", waiting)
	}
	do("cancel the device sign-in", chromedp.Click(chromedp.Search(`//button[text()="Cancel"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	chromium.Screenshot(t, ctx, "forms-05-device-cancelled")
	if got := visibleText(".flash.ok"); len(got) != 1 || !strings.Contains(got[0], "was cancelled") || !strings.HasSuffix(browserLocation(t, ctx), id) {
		t.Errorf("after Cancel: %q on %s", got, browserLocation(t, ctx))
	}

	// The Test form for a task file with the sandbox's private CA.
	dir := t.TempDir()
	host, port, _ := net.SplitHostPort(h.IMAP[provider.Microsoft].Addr[mailauth.ImplicitTLS])
	task := writeTask(t, dir, "support.properties", fmt.Sprintf("MAILBOX_PROTOCOL = IMAP\nMAILBOX_HOST = %s\nMAILBOX_PORT = %s\nMAILBOX_TLS_CA_FILE = %s\nMAILBOX_USER = %s\nMAILBOX_AUTH_TYPE = OAUTH2\nMAILBOX_EMAIL_TOKEN_NAME = support\nMAILBOX_DELIVER_TO = maildir:%s\n",
		host, port, h.CAFile, h.World.MSUser, filepath.Join(dir, "inbox")))
	h.useToken("support", tokenstore.ActorEvmail, task)
	do("choose the task file", chromedp.Navigate(h.url+id+"/test"), chromedp.WaitVisible(chromedp.CSS(`#task`)),
		chromedp.SetValue(chromedp.CSS(`#task`), task),
		chromedp.Click(chromedp.Search(`//button[text()="Use this task file"]`)),
		chromedp.WaitVisible(chromedp.CSS(`.from-task`)))
	chromium.Screenshot(t, ctx, "forms-06-test-task-file")
	if got := eval(`[document.querySelector("#server").value]`)[0]; got != net.JoinHostPort(host, port) {
		t.Errorf("server filled in: %q", got)
	}
	do("run the test", chromedp.Click(chromedp.Search(`//button[text()="Test"]`)), chromedp.WaitVisible(chromedp.CSS(`#test-result`)))
	chromium.Screenshot(t, ctx, "forms-07-test-ok")
	if got := visibleText("#test-result h2"); len(got) != 1 || !strings.Contains(got[0], "Logged in to "+net.JoinHostPort(host, port)) {
		t.Errorf("test result: %q", got)
	}
}

func browserLocation(t *testing.T, ctx context.Context) string {
	t.Helper()
	u, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	return u
}
