package cli

import (
	"context"
	"fmt"
	"io"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/provider"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/testenv/browser"
)

// startServe runs `evadmin serve` for the test and returns its URL and
// standard error.
func startServe(t *testing.T, w *world) (string, *syncbuf.Buffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	stderr := &syncbuf.Buffer{}
	env := &Env{Env: &cmdline.Env{Ctx: ctx, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: stderr, Conf: w.conf}}
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- Serve(env, func(addr string) { ready <- addr }) }()
	t.Cleanup(func() {
		cancel()
		<-served
	})
	select {
	case addr := <-ready:
		return "http://" + addr, stderr
	case err := <-served:
		t.Fatalf("serve: %v", err)
	}
	return "", nil
}

// TestBrowser is a newcomer's first session in a real Chromium: the setup
// link, adding a Microsoft and a Google token, Get Email Token through the
// sandbox's sign-in pages, and a device-code sign-in.
func TestBrowser(t *testing.T) {
	w := newWorld(t)
	ctx := browser.New(t)
	base, stderr := startServe(t, w)
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			browser.Screenshot(t, ctx, "failed-"+strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	location := func() string {
		u, err := chromedp.Run(ctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return u
	}

	// First start: serve printed a one-time setup link.
	link := regexp.MustCompile(`(http://\S+/setup\?token=\S+)`).FindString(stderr.String())
	if link == "" {
		t.Fatalf("no setup link in:\n%s", stderr)
	}
	do("open the setup link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)))
	browser.Screenshot(t, ctx, "admin-01-setup")
	do("create the first admin",
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), "alice"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password_again]`), "correct horse battery"),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`.empty`)))
	browser.Screenshot(t, ctx, "admin-02-first-start")
	if got := browser.Text(t, ctx, "#redirect-uri"); got != base+"/oauth2/callback" {
		t.Fatalf("redirect URI shown: %q", got)
	}

	addToken := func(name, typ, email, tenant, clientID, secret string, prov provider.Type) {
		auth, token := w.IDP.Endpoints(w.World, prov)
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(base + "/"),
			chromedp.Click(chromedp.CSS(`a.button.primary[href="/tokens/new"]`)),
			chromedp.WaitVisible(chromedp.CSS(`form.token-form`)),
			chromedp.SendKeys(chromedp.CSS(`#name`), name),
			chromedp.Click(chromedp.CSS(`input[name=type][value=` + typ + `]`)),
			chromedp.SendKeys(chromedp.CSS(`#email`), email),
			chromedp.SendKeys(chromedp.CSS(`#client_id`), clientID),
			chromedp.SendKeys(chromedp.CSS(`#client_secret`), secret),
			chromedp.SendKeys(chromedp.CSS(`#auth_url`), auth),
			chromedp.SendKeys(chromedp.CSS(`#token_url`), token),
		}
		if tenant != "" {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS(`#tenant`), tenant))
		}
		do("add "+name, steps...)
		browser.Screenshot(t, ctx, "admin-03-add-"+typ)
		do("save "+name, chromedp.Click(chromedp.CSS(`.buttons button[type=submit]`)), chromedp.WaitVisible(chromedp.CSS(`table.tokens`)))
	}
	getToken := func(name, email string) {
		row := fmt.Sprintf(`//tr[.//a[@class="name" and text()=%q]]`, name)
		do("Get Email Token for "+name,
			chromedp.Click(chromedp.Search(row+`//button[contains(., "Get Email Token")]`)),
			chromedp.WaitVisible(chromedp.CSS(`input[name=email]`)))
		browser.Screenshot(t, ctx, "admin-04-signin-"+name)
		do("sign in at the provider as "+email,
			chromedp.SetValue(chromedp.CSS(`input[name=email]`), email),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), w.World.Password),
			chromedp.Click(chromedp.CSS(`button[value=accept]`)),
			chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
		status := browser.Text(t, ctx, fmt.Sprintf(`tr#token-%d td.status`, tokenID(t, w, name)))
		if !strings.Contains(status, "valid · expires in 1 h") {
			browser.Screenshot(t, ctx, "failed-status-"+name)
			t.Fatalf("%s after sign-in: %q", name, status)
		}
	}

	addToken("Support", "microsoft", w.World.MSUser, w.World.TenantID, w.World.MSClientID, w.World.MSSecret, provider.Microsoft)
	getToken("Support", w.World.MSUser)
	addToken("Gmail support", "google", w.World.GoogleUser, "", w.World.GoogleClientID, w.World.GoogleSecret, provider.Google)
	getToken("Gmail support", w.World.GoogleUser)
	browser.Screenshot(t, ctx, "admin-05-list-valid")
	if !strings.HasPrefix(location(), base+"/") {
		t.Fatalf("ended on %s", location())
	}

	// A device-code sign-in for the Microsoft token.
	id := tokenID(t, w, "Support")
	do("start the device sign-in",
		chromedp.Navigate(fmt.Sprintf("%s/tokens/%d", base, id)),
		chromedp.Click(chromedp.Search(`//button[contains(., "Sign in with a device code")]`)),
		chromedp.WaitVisible(chromedp.CSS(`#user-code`)))
	browser.Screenshot(t, ctx, "admin-06-device-code")
	code := browser.Text(t, ctx, "#user-code")
	if err := w.IDP.ApproveDevice(context.Background(), code, w.World.MSUser, w.World.Password); err != nil {
		t.Fatal(err)
	}
	// The page reloads itself every few seconds and lands on the list.
	do("wait for the device sign-in", chromedp.WaitVisible(chromedp.CSS(`table.tokens`)), chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	browser.Screenshot(t, ctx, "admin-07-after-device")
	if got := browser.Text(t, ctx, ".flash.ok"); !strings.Contains(got, "Support is valid until") {
		t.Fatalf("after the device sign-in: %q", got)
	}

	// The admin accounts: a second admin from the command line, alice
	// changes her password and deletes bob.
	w.mustRun("bob's long password\n", "admin", "passwd", "bob")
	do("open the admins page", chromedp.Click(chromedp.Search(`//nav/a[text()="Admins"]`)), chromedp.WaitVisible(chromedp.CSS(`table.admins`)))
	browser.Screenshot(t, ctx, "admin-08-admins")
	do("open the password form", chromedp.Click(chromedp.Search(`//a[contains(., "Change my password")]`)), chromedp.WaitVisible(chromedp.CSS(`input[name=current]`)))
	do("change the password",
		chromedp.SendKeys(chromedp.CSS(`input[name=current]`), "correct horse battery"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password_again]`), "a brand new passphrase"))
	browser.Screenshot(t, ctx, "admin-09-password")
	do("save the password", chromedp.Click(chromedp.CSS(`button[type=submit].primary`)), chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	if got := browser.Text(t, ctx, ".flash.ok"); !strings.Contains(got, "Your password was changed") {
		t.Fatalf("after the password change: %q", got)
	}
	do("delete bob", chromedp.Click(chromedp.Search(`//tr[.//td[@class="name" and text()="bob"]]//a[contains(., "Delete")]`)),
		chromedp.WaitVisible(chromedp.Search(`//button[contains(., "Delete admin bob")]`)))
	browser.Screenshot(t, ctx, "admin-10-delete-admin")
	do("confirm", chromedp.Click(chromedp.Search(`//button[contains(., "Delete admin bob")]`)), chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	browser.Screenshot(t, ctx, "admin-11-admin-deleted")
	if got := browser.Text(t, ctx, "table.events"); !strings.Contains(got, "deleted") || !strings.Contains(got, "password_changed") {
		t.Fatalf("account events after the deletion: %q", got)
	}
}

func tokenID(t *testing.T, w *world, name string) int64 {
	t.Helper()
	store, err := (&Env{Env: &cmdline.Env{Ctx: context.Background(), Conf: w.conf, Stderr: io.Discard}}).open()
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	tok, err := store.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID
}
