package graphd

import (
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Four requests of one app against one mailbox may be in flight; the
// fifth gets 429 ApplicationThrottled with Retry-After, and the four
// complete once released.
func TestConcurrencyLimit(t *testing.T) {
	f := newFixture(t)
	tok := f.userToken(t)
	path := "/v1.0/me/mailFolders/inbox/messages/delta"
	release := f.srv.Hold()
	defer release()
	var wg sync.WaitGroup
	statuses := make(chan int, 4)
	for range 4 {
		wg.Go(func() { statuses <- f.do(t, "GET", path, tok, nil).Status })
	}
	deadline := time.Now().Add(10 * time.Second)
	for f.srv.InFlight(f.World.MSClientID, f.World.MSUser) < 4 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d requests in flight", f.srv.InFlight(f.World.MSClientID, f.World.MSUser))
		}
		time.Sleep(5 * time.Millisecond)
	}
	r := f.do(t, "GET", path, tok, nil)
	wantError(t, "fifth request", r, http.StatusTooManyRequests, "ApplicationThrottled", "Application is over its MailboxConcurrency limit.")
	if s, err := strconv.Atoi(r.Header.Get("Retry-After")); err != nil || s < 1 {
		t.Errorf("Retry-After %q", r.Header.Get("Retry-After"))
	}
	release()
	wg.Wait()
	close(statuses)
	for s := range statuses {
		if s != http.StatusOK {
			t.Errorf("a held request ended with HTTP %d", s)
		}
	}
	if r := f.do(t, "GET", path, tok, nil); r.Status != http.StatusOK {
		t.Errorf("after the release: HTTP %d", r.Status)
	}
}

// The request budget per app and mailbox (3 a minute here, 10,000 in 10
// minutes by default): the next request gets 429 with Retry-After until
// the oldest leaves the window; another mailbox has its own budget.
func TestRequestBudget(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.Budget, o.BudgetWindow = 3, time.Minute })
	app := f.AppToken(t, "https://graph.microsoft.com")
	path := func(u string) string { return "/v1.0/users/" + u + "/mailFolders/inbox/messages/delta" }
	for i := range 3 {
		if r := f.do(t, "GET", path(f.World.MSUser), app, nil); r.Status != http.StatusOK {
			t.Fatalf("request %d: HTTP %d %s", i+1, r.Status, r.Body)
		}
		f.Clock.Advance(10 * time.Second)
	}
	r := f.do(t, "GET", path(f.World.MSUser), app, nil)
	wantError(t, "over budget", r, http.StatusTooManyRequests, "ApplicationThrottled", "")
	if got := r.Header.Get("Retry-After"); got != "30" {
		t.Errorf("Retry-After %q, want 30 (the first request leaves the window in 30s)", got)
	}
	if r := f.do(t, "GET", path(f.World.MSOtherUser), app, nil); r.Status != http.StatusOK {
		t.Errorf("another mailbox: HTTP %d", r.Status)
	}
	f.Clock.Advance(30 * time.Second)
	if r := f.do(t, "GET", path(f.World.MSUser), app, nil); r.Status != http.StatusOK {
		t.Errorf("after Retry-After: HTTP %d %s", r.Status, r.Body)
	}
}

// Injected faults answer the next requests, whoever sends them, with the
// status and Retry-After asked for.
func TestInjectedFaults(t *testing.T) {
	f := newFixture(t)
	tok := f.userToken(t)
	path := "/v1.0/me/mailFolders/inbox/messages/delta"
	f.srv.InjectFaults(2, http.StatusServiceUnavailable, 7*time.Second)
	f.srv.InjectFaults(1, http.StatusTooManyRequests, 3*time.Second)
	for i, want := range []struct {
		status int
		code   string
		retry  string
	}{{503, "ServiceNotAvailable", "7"}, {503, "ServiceNotAvailable", "7"}, {429, "ApplicationThrottled", "3"}} {
		r := f.do(t, "GET", path, tok, nil)
		wantError(t, "fault "+strconv.Itoa(i), r, want.status, want.code, "")
		if r.Header.Get("Retry-After") != want.retry {
			t.Errorf("fault %d: Retry-After %q, want %s", i, r.Header.Get("Retry-After"), want.retry)
		}
	}
	if r := f.do(t, "GET", path, tok, nil); r.Status != http.StatusOK {
		t.Errorf("after the faults: HTTP %d", r.Status)
	}
}
