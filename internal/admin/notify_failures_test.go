package admin

import (
	"strings"
	"testing"
)

// The list says at the top which notification channels are failing, with
// the error, and says nothing while none is.
func TestListShowsNotifyFailures(t *testing.T) {
	h := newHarness(t)
	b := h.browser().login()
	if body := b.get("/").body; strings.Contains(body, "Notifications failing") {
		t.Fatal("a failure shown while none is recorded")
	}
	h.storeExec(t, `INSERT INTO notify_channels (channel, last_fail_at, failing_since, failures, last_error)
		VALUES ('webhook', 1772443800000, 1772443800000, 3, 'webhook at chat.contoso.com answered 502 Bad Gateway')`)
	got := text(b.get("/").body)
	if !strings.Contains(got, "Notifications failing: webhook: webhook at chat.contoso.com answered 502 Bad Gateway (since 2026-03-02") ||
		!strings.Contains(got, "3 attempts") {
		t.Fatalf("list:\n%s", got)
	}
}
