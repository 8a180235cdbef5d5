package tokenstore

import (
	"context"
	"testing"
	"time"

	"mailtokens/internal/database"
	"mailtokens/internal/provider"
)

// The event log stays bounded however often a token fails: per token the
// newest keepEvents, and nothing older than keepEventsFor, deleted tokens'
// events included.
func TestEventLogIsBounded(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.authorized(t, "ms", provider.Microsoft)
	w.authorized(t, "gone", provider.Google)
	if err := w.store.Delete(ctx, "gone", ActorAdmin); err != nil {
		t.Fatal(err)
	}
	tok, _ := w.store.Get(ctx, "ms")
	now := database.Millis(w.Clock.Now())
	for i := range keepEvents + 50 {
		if err := addEvent(ctx, w.store.db, tok.ID, tok.Name, now, ActorEvmail, EventRefreshFailed, "x", "failure"); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	if got := countEvents(t, w.store, "token_name = 'ms'"); got != keepEvents {
		t.Fatalf("token ms keeps %d events, want %d", got, keepEvents)
	}
	if countEvents(t, w.store, "token_name = 'gone'") == 0 {
		t.Fatal("a deleted token's events vanished at once")
	}
	w.age(keepEventsFor + time.Hour)
	if err := addEvent(ctx, w.store.db, tok.ID, tok.Name, database.Millis(w.Clock.Now()), ActorEvmail, EventUsed, "", ""); err != nil {
		t.Fatal(err)
	}
	if got := countEvents(t, w.store, "1 = 1"); got != 1 {
		t.Fatalf("%d events after %v, want only the new one", got, keepEventsFor)
	}
}

func countEvents(t *testing.T, s *Store, where string) int {
	t.Helper()
	var n int
	if err := s.db.QueryRow(`SELECT COUNT(*) FROM events WHERE ` + where).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}
