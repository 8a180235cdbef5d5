package demo

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"mailtokens/internal/syncbuf"
	"mailtokens/internal/testenv/browser"
)

// TestDemoInBrowser is a newcomer trying `make demo`: start it, open the
// printed address, log in with the printed password, click Get Email Token
// on the Microsoft-like token, consent at the sandbox, come back — and see
// mail move: evmail delivers, batchmail sends, the list shows "last used".
func TestDemoInBrowser(t *testing.T) {
	ctx := browser.New(t)
	dir := filepath.Join(t.TempDir(), "demo-data")
	runCtx, stop := context.WithCancel(context.Background())
	workers := &syncbuf.Buffer{} // the workers' logs
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- Program.Run(runCtx, []string{"--dir", dir, "--listen", "127.0.0.1:0"}, strings.NewReader(""), outW, workers)
		outW.Close()
	}()
	t.Cleanup(func() {
		stop()
		select {
		case code := <-done:
			if code != 0 {
				t.Errorf("demo exited %d after Ctrl-C", code)
			}
		case <-time.After(30 * time.Second):
			t.Error("the demo did not stop")
		}
	})

	// Read the console until it has said where to go and with which password.
	var url, password string
	lines := bufio.NewScanner(outR)
	re := regexp.MustCompile(`Open (http://\S+)/ and log in as\s+demo\s+with the password\s+(\S+)`)
	named := map[string]bool{}
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			url, password = m[1], m[2]
		}
		for _, p := range []string{"IMAP", "POP3", "SMTP"} {
			if regexp.MustCompile(`^\s+` + p + `\s+127\.0\.0\.1:\d+ `).MatchString(lines.Text()) {
				named[p] = true
			}
		}
		if strings.Contains(lines.Text(), "Ctrl-C stops everything") {
			break
		}
	}
	if url == "" {
		t.Fatal("the demo did not print the address and password")
	}
	if len(named) != 3 {
		t.Errorf("the console names the sandbox's %v servers, want IMAP, POP3 and SMTP", named)
	}
	go io.Copy(io.Discard, outR)

	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			browser.Screenshot(t, ctx, "demo-failed-"+strings.ReplaceAll(what, " ", "-"))
			t.Fatalf("%s: %v", what, err)
		}
	}
	do("log in with the printed password",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`input[name=name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=name]`), AdminName),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password),
		chromedp.Click(chromedp.CSS(`button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.tokens`)))
	browser.Screenshot(t, ctx, "demo-01-before")
	row := fmt.Sprintf(`//tr[.//a[@class="name" and text()=%q]]`, MicrosoftToken)
	if got := browser.Text(t, ctx, "table.tokens"); !strings.Contains(got, "not yet authorized") {
		t.Fatalf("before sign-in: %q", got)
	}
	do("Get Email Token",
		chromedp.Click(chromedp.Search(row+`//button[contains(., "Get Email Token")]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
	do("sign in at the sandbox",
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "support@contoso.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "sandbox-password"),
		chromedp.Click(chromedp.CSS(`button[value=accept]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))

	// Mail moves: 3 messages waiting in the mailbox, and the 3 batchmail
	// sends, which land in the same mailbox.
	waitUntil(t, "evmail to deliver 6 messages and batchmail to send 3", func() bool {
		return count(filepath.Join(dir, "inbox", "new")) >= 6 && count(filepath.Join(dir, "outbox", "sent")) == 3
	})
	waitUntil(t, "the list to show the token's last use", func() bool {
		if err := chromedp.Do(ctx, chromedp.Navigate(url+"/"), chromedp.WaitVisible(chromedp.CSS(`table.tokens`))); err != nil {
			return false
		}
		txt := browser.Text(t, ctx, "table.tokens")
		return strings.Contains(txt, "valid · expires in") && (strings.Contains(txt, "by evmail") || strings.Contains(txt, "by batchmail"))
	})
	browser.Screenshot(t, ctx, "demo-02-after")

	// The Graph tasks: their own token (Graph's scopes), then mail moves
	// over Graph: 2 messages from the Graph folder, 1 sent with sendMail.
	graphRow := fmt.Sprintf(`//tr[.//a[@class="name" and text()=%q]]`, GraphToken)
	do("Get Email Token for Graph",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`table.tokens`)),
		chromedp.Click(chromedp.Search(graphRow+`//button[contains(., "Get Email Token")]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
	do("sign in at the sandbox for Graph",
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "support@contoso.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "sandbox-password"),
		chromedp.Click(chromedp.CSS(`button[value=accept]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	waitUntil(t, "evmail over Graph to deliver 2 messages and batchmail over Graph to send 1", func() bool {
		return count(filepath.Join(dir, "inbox-graph", "new")) == 2 && count(filepath.Join(dir, "outbox-graph", "sent")) == 1
	})

	// The Gmail API tasks, with the Google-like token: 2 messages waiting,
	// 1 sent, which lands in the same INBOX and is delivered too.
	gmailRow := fmt.Sprintf(`//tr[.//a[@class="name" and text()=%q]]`, GoogleToken)
	do("Get Email Token for Gmail",
		chromedp.Navigate(url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`table.tokens`)),
		chromedp.Click(chromedp.Search(gmailRow+`//button[contains(., "Get Email Token")]`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name=password]`)))
	do("sign in at the sandbox for Gmail",
		chromedp.SetValue(chromedp.CSS(`input[name=email]`), "support.team@gmail.example"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "sandbox-password"),
		chromedp.Click(chromedp.CSS(`button[value=accept]`)),
		chromedp.WaitVisible(chromedp.CSS(`.flash.ok`)))
	waitUntil(t, "evmail over the Gmail API to deliver 3 messages and batchmail over it to send 1", func() bool {
		return count(filepath.Join(dir, "inbox-gmail", "new")) == 3 && count(filepath.Join(dir, "outbox-gmail", "sent")) == 1
	})
	browser.Screenshot(t, ctx, "demo-03-web-apis")
	// What the web-API workers said while they moved the mail.
	for line := range strings.Lines(workers.String()) {
		if strings.Contains(line, "-g") && (strings.Contains(line, "pass finished") || strings.Contains(line, "msg=sent") || strings.Contains(line, "evmail started")) {
			t.Log(strings.TrimSpace(line))
		}
	}
}

func count(dir string) int {
	entries, _ := os.ReadDir(dir)
	n := 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// waitUntil polls cond every 200 ms for up to 60 s.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
