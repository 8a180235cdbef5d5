package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	chrome "mailtokens/internal/testenv/browser"
	"mailtokens/internal/tokenstore"
)

// screenshotsEnv names the directory TestAtAGlance saves its screenshots
// in; without it they go to a temporary directory and are gone after.
const screenshotsEnv = "MAILTOKENS_SCREENSHOTS"

// glanceState is one token in one state, as the list should show it.
type glanceState struct {
	name   string // the token's name, also the screenshots' name
	badge  string // the badge's class
	marker string // the warnings marker, "" for none
	rank   int    // its place in the list: lower first
}

// TestAtAGlance walks the token list and every token's page in headless
// Chromium, with a token in each state an admin meets (issue 11, "At a
// glance"), at 1280 and at 375 pixels wide, and saves a screenshot of
// each. It checks what a person takes in at a glance: tokens that need
// someone come first and revoked ones last; the badge's colour follows the
// status only (an expiring secret is a separate marker on a green badge);
// "not yet authorized" and "revoked" look different; the mail side names
// the server's reply; every clock time names its zone and the footer the
// server's; and at either width nothing scrolls sideways, neither the page
// nor a table inside it (the events table did on a phone).
//
// MAILTOKENS_SCREENSHOTS=dir keeps the screenshots: list-1280.png,
// list-375.png and token-<state>-<width>.png.
func TestAtAGlance(t *testing.T) {
	ctx := chrome.New(t)
	shots := os.Getenv(screenshotsEnv)
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	h := newHarness(t)
	const (
		healthy       = "healthy"
		mailFailing   = "mail-failing"
		needsAuth     = "needs-authorization"
		secretExpires = "secret-expiring"
		notAuthorized = "not-yet-authorized"
		revoked       = "revoked"
		refusal       = "535 5.7.3 Authentication unsuccessful [AM0PR06CA0123.eurprd06.prod.outlook.com 2026-12-06T10:02:11.123Z 08DD3F2A1B2C3D4E]"
	)
	states := []glanceState{
		{mailFailing, "bad", "", 0}, {needsAuth, "bad", "", 0},
		{notAuthorized, "idle", "", 1},
		{healthy, "ok", "", 2}, {secretExpires, "ok", "⚠ 1", 2},
		{revoked, "off", "", 3},
	}
	paths := map[string]string{}

	// Needs authorization: the user withdrew the app's consent at Google,
	// and a worker's next refresh, an hour later, was refused. The hour
	// ends the admin's session, so it comes first.
	b := h.browser().login()
	paths[needsAuth] = b.addToken(h.googleForm(needsAuth))
	b.getEmailToken(paths[needsAuth], h.World.GoogleUser)
	h.Clock.Advance(55 * time.Minute)
	h.IDP.RevokeConsent(h.World.GoogleClientID, h.World.GoogleUser)
	var na *tokenstore.NeedsAuthorizationError
	if _, err := h.Store.Source(needsAuth, tokenstore.ActorEvmail).Token(t.Context()); !errors.As(err, &na) {
		t.Fatalf("refresh after the consent was revoked: %v, want NeedsAuthorizationError", err)
	}

	b = h.browser().login()
	for _, name := range []string{healthy, mailFailing, revoked} {
		paths[name] = b.addToken(h.msForm(name))
		b.getEmailToken(paths[name], h.World.MSUser)
	}
	form := h.msForm(secretExpires)
	form.Set(tokenstore.FieldSecretExpiresOn, h.Clock.Now().AddDate(0, 0, 20).Format(time.DateOnly))
	paths[secretExpires] = b.addToken(form)
	b.getEmailToken(paths[secretExpires], h.World.MSUser)
	paths[notAuthorized] = b.addToken(h.googleForm(notAuthorized))
	b.get(paths[revoked] + "/revoke")
	if r := b.confirm(paths[revoked] + "/revoke"); r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.status, flashOrErrors(r.body))
	}

	// The workers: an evmail task that logs in, and a batchmail task with a
	// wrong MAIL_USER that Exchange refuses.
	login := func(name string, actor tokenstore.Actor, task, server, user string, l tokenstore.Login) {
		t.Helper()
		if err := h.Store.StartTask(t.Context(), name, tokenstore.TaskStart{Actor: actor, Task: task, Server: server, User: user, PollEvery: time.Minute}); err != nil {
			t.Fatal(err)
		}
		l.Server, l.User = server, user
		if err := h.Store.Source(name, actor).ForTask(task).LoggedIn(t.Context(), l); err != nil {
			t.Fatal(err)
		}
	}
	login(healthy, tokenstore.ActorEvmail, "/etc/mailtokens/evmail/support.properties", "IMAP outlook.office365.com:993", h.World.MSUser, tokenstore.Login{})
	login(mailFailing, tokenstore.ActorEvmail, "/etc/mailtokens/evmail/helpdesk.properties", "IMAP outlook.office365.com:993", h.World.MSUser, tokenstore.Login{})
	login(mailFailing, tokenstore.ActorBatchmail, "/etc/mailtokens/batchmail/notify.properties", "SMTP smtp.office365.com:587",
		"noreply-wrong-user@"+strings.SplitN(h.World.MSUser, "@", 2)[1], tokenstore.Login{Failed: true, Reply: refusal})
	h.Clock.Advance(2 * time.Minute)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			chrome.ScreenshotIn(t, ctx, shots, "failed-"+what)
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("log in",
		chromedp.Navigate(h.url+"/login"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), adminName),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), adminPassword),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.tokens`)))

	for _, width := range []int64{1280, 375} {
		do(fmt.Sprintf("open the list at %d px", width),
			chromedp.EmulateViewport(width, 900),
			chromedp.Navigate(h.url+"/"),
			chromedp.WaitVisible(chromedp.CSS(`table.tokens`)))
		chrome.ScreenshotIn(t, ctx, shots, fmt.Sprintf("list-%d", width))
		checkList(t, ctx, states, mailFailing, refusal)
		checkZones(t, ctx, "the list")
		checkFits(t, ctx, fmt.Sprintf("the list at %d px", width))
	}

	for _, s := range states {
		for _, width := range []int64{1280, 375} {
			page := fmt.Sprintf("the page of %s at %d px", s.name, width)
			do("open "+page,
				chromedp.EmulateViewport(width, 900),
				chromedp.Navigate(h.url+paths[s.name]),
				chromedp.WaitVisible(chromedp.CSS(`.heading .badge`)))
			chrome.ScreenshotIn(t, ctx, shots, fmt.Sprintf("token-%s-%d", s.name, width))
			if got := evaluate[string](t, ctx, `document.querySelector(".heading .badge").className`); got != "badge "+s.badge {
				t.Errorf("%s: badge %q, want %q as in the list", page, got, "badge "+s.badge)
			}
			checkZones(t, ctx, page)
			checkFits(t, ctx, page)
			if s.name == mailFailing {
				task := evaluate[string](t, ctx, `document.querySelector("table.tasks tr[data-state=failing]").innerText`)
				if !strings.Contains(task, refusal) || !strings.Contains(task, "notify.properties") {
					t.Errorf("%s: the failing task's row does not name its file and the reply: %q", page, task)
				}
			}
		}
	}
	t.Logf("screenshots in %s", shots)
}

// glanceRow is one row of the token list as the browser shows it.
type glanceRow struct {
	Name, Badge, Marker, Text string
	Look                      string // the badge's colours and border, as computed
}

// checkList checks the list's order, badges and markers against states,
// and that the row of the token named failing names the server and its
// reply.
func checkList(t *testing.T, ctx context.Context, states []glanceState, failing, reply string) {
	t.Helper()
	rows := evaluate[[]glanceRow](t, ctx, `[...document.querySelectorAll("table.tokens tbody tr")].map(tr => {
		const badge = tr.querySelector("td.status .badge"), cs = getComputedStyle(badge);
		return {Name: tr.querySelector("a.name").textContent, Badge: badge.className,
			Marker: (tr.querySelector("td.status .marker") || {}).textContent || "", Text: tr.innerText,
			Look: [cs.color, cs.backgroundColor, cs.borderStyle, cs.borderColor].join(" ")};
	})`)
	want := map[string]glanceState{}
	for _, s := range states {
		want[s.name] = s
	}
	var order []string
	looks := map[string]string{} // badge class by look
	for i, r := range rows {
		order = append(order, r.Name)
		s, ok := want[r.Name]
		if !ok {
			t.Errorf("unexpected row %q", r.Name)
			continue
		}
		if i > 0 && s.rank < want[rows[i-1].Name].rank {
			t.Errorf("%s (%s) comes after %s: tokens that need someone first, revoked last", r.Name, s.badge, rows[i-1].Name)
		}
		if r.Badge != "badge "+s.badge || strings.TrimSpace(r.Marker) != s.marker {
			t.Errorf("%s: badge %q, marker %q; want badge %q, marker %q", r.Name, r.Badge, r.Marker, "badge "+s.badge, s.marker)
		}
		if other, ok := looks[r.Look]; ok && other != s.badge {
			t.Errorf("the %s badge of %s looks like the %s badge: %s", s.badge, r.Name, other, r.Look)
		}
		looks[r.Look] = s.badge
		if r.Name == failing && (!strings.Contains(r.Text, reply) || !strings.Contains(r.Text, "smtp.office365.com")) {
			t.Errorf("the row of %s does not name the server and its reply: %q", r.Name, r.Text)
		}
	}
	if len(rows) != len(states) {
		t.Errorf("the list shows %d tokens, want %d: %q", len(rows), len(states), order)
	}
	t.Logf("list order: %s", strings.Join(order, ", "))
}

// clockRE finds a clock time in text and the time zone after it, if any:
// not a port, an address, a zone's offset (UTC+01:00) or a time inside an
// ISO 8601 stamp (2026-12-06T10:02:11Z, as a server's reply may quote).
var clockRE = regexp.MustCompile(`(?:^|[^\w.:+-])(\d{1,2}:\d{2}(?::\d{2})?)( (?:[A-Z]{2,5}|[+-]\d{2}(?:\d{2})?)\b)?`)

// checkZones checks that every clock time on the page, in a <time> element
// or in a sentence, says its time zone, and that the footer names the
// server's zone.
func checkZones(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	type texts struct {
		Times        []string
		Body, Footer string
	}
	got := evaluate[texts](t, ctx, `({Times: [...document.querySelectorAll("time")].map(e => e.innerText),
		Body: document.body.innerText, Footer: document.querySelector("footer").innerText})`)
	for _, s := range got.Times {
		if m := clockRE.FindStringSubmatch(s); m == nil || m[2] == "" {
			t.Errorf("%s: <time> %q has no time zone", page, s)
		}
	}
	n := 0
	for _, m := range clockRE.FindAllStringSubmatch(got.Body, -1) {
		n++
		if m[2] == "" {
			t.Errorf("%s: the time %q has no time zone in %q", page, m[1], around(got.Body, m[0]))
		}
	}
	if n == 0 {
		t.Errorf("%s shows no clock time at all; the check proves nothing", page)
	}
	zone, _ := time.Now().Zone()
	if !strings.Contains(got.Footer, "time zone, "+zone) {
		t.Errorf("%s: the footer does not name the server's time zone %s: %q", page, zone, got.Footer)
	}
}

// around is the line of text that holds s, for failure messages.
func around(text, s string) string {
	for line := range strings.Lines(text) {
		if strings.Contains(line, s) {
			return strings.TrimSpace(line)
		}
	}
	return s
}

// fits is what checkFits measures: the page's widths, the elements that
// reach past its right edge, and the elements that scroll or clip their
// content sideways.
type fits struct {
	ScrollWidth, ClientWidth, InnerWidth int
	Past, Scrolling                      []string
}

// checkFits checks that the page fits the window's width: the page does
// not scroll sideways, and no table or box inside it scrolls or clips.
func checkFits(t *testing.T, ctx context.Context, page string) {
	t.Helper()
	f := evaluate[fits](t, ctx, `(() => {
		const de = document.documentElement, w = de.clientWidth;
		const name = el => el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") +
			(el.className && typeof el.className === "string" ? "." + el.className.trim().split(/\s+/).join(".") : "") +
			" " + JSON.stringify((el.innerText || "").trim().slice(0, 40));
		const all = [...document.body.querySelectorAll("*")];
		const past = all.filter(el => el.getBoundingClientRect().right > w + 0.5 &&
			![...el.children].some(c => c.getBoundingClientRect().right > w + 0.5)).
			map(el => name(el) + " ends at " + Math.round(el.getBoundingClientRect().right) + " px");
		// A word too long for its line reaches past its element's box.
		const words = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
		for (let n; (n = words.nextNode()); ) {
			const r = document.createRange();
			r.selectNodeContents(n);
			const right = r.getBoundingClientRect().right;
			if (right > w + 0.5) past.push("text in " + name(n.parentElement) + " ends at " + Math.round(right) + " px");
		}
		const scrolling = all.filter(el => getComputedStyle(el).overflowX !== "visible" && el.scrollWidth > el.clientWidth + 1);
		return {ScrollWidth: de.scrollWidth, ClientWidth: w, InnerWidth: window.innerWidth,
			Past: past.slice(0, 8),
			Scrolling: scrolling.slice(0, 8).map(el => name(el) + " is " + el.scrollWidth + " px wide in " + el.clientWidth)};
	})()`)
	if f.ScrollWidth > f.ClientWidth {
		t.Errorf("%s scrolls sideways: %d px wide in a %d px window (innerWidth %d); past the edge: %s",
			page, f.ScrollWidth, f.ClientWidth, f.InnerWidth, strings.Join(f.Past, "; "))
	}
	if len(f.Scrolling) > 0 {
		t.Errorf("%s: boxes scroll or clip sideways: %s", page, strings.Join(f.Scrolling, "; "))
	}
}

// evaluate runs a JavaScript expression in the page and decodes its value.
func evaluate[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr))
	if err != nil {
		t.Fatalf("evaluate %.60s…: %v", expr, err)
	}
	return v
}
