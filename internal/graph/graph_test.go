package graph

import (
	"errors"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
)

// FuzzParsePage: whatever a server sends as a delta page, parsing ends
// with a page whose messages all have ids and that has exactly one of
// the two links, or with a *Error; it never panics.
func FuzzParsePage(f *testing.F) {
	f.Add(`{"value":[{"id":"AAMk1","isRead":false,"receivedDateTime":"2026-12-06T10:00:00Z"}],"@odata.nextLink":"https://graph.microsoft.com/v1.0/x?$skiptoken=1"}`)
	f.Add(`{"value":[{"id":"AAMk2","@removed":{"reason":"deleted"}}],"@odata.deltaLink":"https://graph.microsoft.com/v1.0/x?$deltatoken=2"}`)
	f.Add(`{"value":[],"@odata.nextLink":"a","@odata.deltaLink":"b"}`)
	f.Add(`{"value":[{"isRead":true}],"@odata.deltaLink":"b"}`)
	f.Add(`[]`)
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parsePage(strings.NewReader(s))
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != "BadAnswer" {
				t.Fatalf("error %v is not a BadAnswer *Error", err)
			}
			return
		}
		if (p.NextLink == "") == (p.DeltaLink == "") {
			t.Fatalf("page with next %q and delta %q", p.NextLink, p.DeltaLink)
		}
		for _, m := range p.Messages {
			if m.ID == "" {
				t.Fatal("a message without id")
			}
		}
	})
}

func TestRetryAfter(t *testing.T) {
	for _, c := range []struct {
		in   string
		want time.Duration
	}{{"", 0}, {"7", 7 * time.Second}, {"-3", 0}, {"soon", 0}, {"999999", time.Hour}} {
		if got := retryAfter(c.in); got != c.want {
			t.Errorf("retryAfter(%q) = %v, want %v", c.in, got, c.want)
		}
	}
	if got := retryAfter(time.Now().Add(30 * time.Second).UTC().Format("Mon, 02 Jan 2006 15:04:05 GMT")); got < 25*time.Second || got > 31*time.Second {
		t.Errorf("an HTTP date 30 s ahead gives %v", got)
	}
}

// TestLinksStayOnGraph: a link to another host (or scheme) is not
// followed: the token would go with it.
func TestLinksStayOnGraph(t *testing.T) {
	c := &Client{Base: "https://graph.microsoft.com/v1.0", Mailbox: "support@contoso.example"}
	if err := c.sameHost("https://graph.microsoft.com/v1.0/users/x/mailFolders/inbox/messages/delta?$deltatoken=1"); err != nil {
		t.Fatalf("Graph's own link refused: %v", err)
	}
	for _, bad := range []string{"https://evil.example/v1.0/delta", "http://graph.microsoft.com/v1.0/delta", "//evil.example/x", "https://graph.microsoft.com.evil.example/x"} {
		err := c.sameHost(bad)
		var e *Error
		if !errors.As(err, &e) || e.Code != "LinkOffGraph" {
			t.Errorf("%s: %v, want LinkOffGraph", bad, err)
		}
		if _, kind := e.Advice(); kind != advice.Misconfigured {
			t.Errorf("%s: advice kind %v", bad, kind)
		}
	}
}

// TestBudget: a mailbox gets budget.count requests in a window, then
// waits until the oldest minute's leave it.
func TestBudget(t *testing.T) {
	saved := budget
	budget.per, budget.count = 10*time.Second, 5
	t.Cleanup(func() { budget = saved })
	var g gate
	start := time.Unix(1000, 0) // on a slot's start
	for i := range 5 {
		if w := g.take(start.Add(time.Duration(i) * 100 * time.Millisecond)); w != 0 {
			t.Fatalf("request %d waits %v within the budget", i, w)
		}
	}
	w := g.take(start.Add(3 * time.Second))
	if w < 7*time.Second || w > 8*time.Second {
		t.Fatalf("the sixth request in the window waits %v, want until the first slot leaves (about 7 s)", w)
	}
	if w := g.take(start.Add(10 * time.Second)); w != 0 {
		t.Fatalf("after the window the request still waits %v", w)
	}
}
