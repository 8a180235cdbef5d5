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

// TestLinksStayOnGraph: a link to another host (or scheme) is not
// followed: the token would go with it.
func TestLinksStayOnGraph(t *testing.T) {
	c := &Client{Base: "https://graph.microsoft.com/v1.0", Mailbox: "support@contoso.example"}
	for _, bad := range []string{"https://evil.example/v1.0/delta", "http://graph.microsoft.com/v1.0/delta", "//evil.example/x", "https://graph.microsoft.com.evil.example/x"} {
		_, err := c.Delta(t.Context(), "inbox", bad)
		var e *Error
		if !errors.As(err, &e) || e.Code != "LinkOffGraph" {
			t.Fatalf("%s: %v, want LinkOffGraph", bad, err)
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
