package tokenstore

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

// refusedLogin is what mailconn does when a mail server refuses every
// login: take the token, be refused, report the refusal, be refused again
// with whatever came back. It returns the error Rejected gave.
func refusedLogin(ctx context.Context, src *Source) error {
	a, err := src.Token(ctx)
	if err != nil {
		return err
	}
	_, err = src.Rejected(ctx, a.Token)
	return err
}

// TestRefusingMailServerForcesOneRefresh: a mail server refuses every
// login; three processes with three tasks each retry every 10 seconds for
// 30 minutes, all at once. The provider sees one refresh, the log one
// event; the other retries are told the problem is the mail side's.
func TestRefusingMailServerForcesOneRefresh(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	old := w.authorized(t, "ms", provider.Microsoft)
	var srcs []*Source
	for _, s := range []*Store{w.store, w.open(t), w.open(t)} {
		for _, actor := range []Actor{ActorEvmail, ActorBatchmail, ActorEvmail} {
			srcs = append(srcs, s.Source("ms", actor))
		}
	}
	eventsBefore := len(mustEvents(t, w.store))
	const retryEvery, period = 10 * time.Second, 30 * time.Minute
	start := w.Clock.Now()
	var mu sync.Mutex
	var errs []error
	for w.Clock.Now().Sub(start) < period {
		var wg sync.WaitGroup
		for _, src := range srcs {
			wg.Go(func() {
				err := refusedLogin(ctx, src)
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			})
		}
		wg.Wait()
		w.age(retryEvery)
	}
	events := len(mustEvents(t, w.store)) - eventsBefore
	t.Logf("%d refused logins over %s: %d refreshes at the provider, %d new events", len(errs), period, len(w.IDP.Refreshes()), events)
	if n := len(w.IDP.Refreshes()); n != 1 {
		t.Fatalf("%d refreshes forced by refusals in %s, want 1", n, period)
	}
	if events != 1 {
		t.Fatalf("%d events for %d refused logins, want the one refresh", events, len(errs))
	}
	// In the first round, callers got the refreshed token; after that,
	// everyone is told the problem is the mail side's.
	for i, err := range errs {
		var re *RefusedError
		switch {
		case err == nil && i < len(srcs):
		case errors.As(err, &re):
			if text, kind := advice.Of(err); kind != advice.Misconfigured || !strings.Contains(text, "SMTP AUTH is enabled") {
				t.Fatalf("advice %q (%s)", text, kind)
			}
		default:
			t.Fatalf("refused login %d: %v, want a RefusedError", i, err)
		}
	}
	tok, err := w.store.Get(ctx, "ms")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Status != StatusValid || tok.AccessToken.Equal(old.AccessToken) {
		t.Fatalf("status %s, token replaced: %v", tok.Status, !tok.AccessToken.Equal(old.AccessToken))
	}
	// Near expiry the token is refreshed as any other.
	w.Clock.Set(tok.Expiry.Add(-MinValidity + time.Second))
	a, err := srcs[4].Token(ctx)
	if err != nil || a.Token.Equal(tok.AccessToken) || len(w.IDP.Refreshes()) != 2 {
		t.Fatalf("near expiry: %d refreshes, %v", len(w.IDP.Refreshes()), err)
	}
}

// TestRejectionEpisodeEnds: a refusal forces a refresh again once the
// token was refreshed near its expiry or an admin acted on it, but never
// sooner than five minutes after the last forced one — unless an admin
// acted.
func TestRejectionEpisodeEnds(t *testing.T) {
	ctx := context.Background()
	w := newWorld(t)
	w.authorized(t, "ms", provider.Microsoft)
	src := w.store.Source("ms", ActorEvmail)
	refreshes := func() int { return len(w.IDP.Refreshes()) }
	// rejectCurrent reports the stored token refused and says whether
	// that forced a refresh.
	rejectCurrent := func(step string) bool {
		t.Helper()
		before := refreshes()
		a, err := src.Token(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		b, err := src.Rejected(ctx, a.Token)
		var re *RefusedError
		switch {
		case err == nil && refreshes() == before+1 && !b.Token.Equal(a.Token):
			return true
		case errors.As(err, &re) && refreshes() == before:
			return false
		}
		t.Fatalf("%s: %d refreshes, %v", step, refreshes()-before, err)
		return false
	}
	episode := func(step string, want bool) {
		t.Helper()
		tok, err := w.store.Get(ctx, "ms")
		if err != nil {
			t.Fatal(err)
		}
		if tok.RejectionEpisode != want {
			t.Fatalf("%s: RejectionEpisode = %v", step, tok.RejectionEpisode)
		}
	}

	if !rejectCurrent("first refusal") {
		t.Fatal("the first refusal did not force a refresh")
	}
	episode("after the forced refresh", true)
	w.age(20 * time.Minute)
	if rejectCurrent("20 minutes later") {
		t.Fatal("the refreshed token's refusal forced another refresh")
	}

	// Near expiry: refreshed as usual, even when a refusal asks for it.
	tok, _ := w.store.Get(ctx, "ms")
	w.Clock.Set(tok.Expiry.Add(-time.Minute))
	before := refreshes()
	a, err := src.Rejected(ctx, tok.AccessToken)
	if err != nil || a.Token.Equal(tok.AccessToken) || refreshes() != before+1 {
		t.Fatalf("near expiry: %d refreshes, %v", refreshes()-before, err)
	}
	episode("after the refresh near expiry", false)
	if !rejectCurrent("after the refresh near expiry") {
		t.Fatal("a new episode did not force a refresh")
	}

	// An admin acts: edit, paste, Refresh now.
	w.age(time.Minute)
	for _, act := range []struct {
		name string
		do   func() error
	}{
		{"edit", func() error {
			tok, _ := w.store.Get(ctx, "ms")
			set := tok.Settings
			set.SecretExpiresOn = w.Clock.Now().AddDate(1, 0, 0)
			_, err := w.store.Update(ctx, "ms", set, ActorAdmin)
			return err
		}},
		{"paste", func() error {
			tok, _ := w.store.Get(ctx, "ms")
			_, err := w.store.SaveGrant(ctx, "ms", GrantPasted, &provider.Token{AccessToken: secret.New("pasted"),
				RefreshToken: tok.RefreshToken, ExpiresIn: time.Hour}, ActorAdmin)
			return err
		}},
	} {
		if rejectCurrent("before " + act.name) {
			t.Fatalf("before %s: the refusal forced a refresh", act.name)
		}
		if err := act.do(); err != nil {
			t.Fatal(err)
		}
		episode("after "+act.name, false)
		if !rejectCurrent("after " + act.name) {
			t.Fatalf("after %s: the refusal did not force a refresh", act.name)
		}
	}
	if _, err := src.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	episode("after Refresh now", false)

	// The provider issues 8-minute tokens, refreshed as usual after 4:
	// a refusal right after that waits for the 5 minutes since the last
	// forced refresh.
	w.IDP.SetAccessTokenLifetime(8 * time.Minute)
	w.age(time.Hour)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	if !rejectCurrent("8-minute tokens") {
		t.Fatal("no forced refresh")
	}
	w.age(4*time.Minute + 10*time.Second)
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}
	episode("after the usual refresh of a short-lived token", false)
	if rejectCurrent("4m10s after the forced refresh") {
		t.Fatal("two forced refreshes within 5 minutes")
	}
	w.age(time.Minute)
	if !rejectCurrent("5m10s after the forced refresh") {
		t.Fatal("no forced refresh 5 minutes after the last")
	}
	if tok, _ := w.store.Get(ctx, "ms"); tok.Status != StatusValid {
		t.Fatalf("status %s", tok.Status)
	}
}

func mustEvents(t *testing.T, s *Store) []Event {
	t.Helper()
	ev, err := s.Events(context.Background(), "ms", 1_000_000)
	if err != nil {
		t.Fatal(err)
	}
	return ev
}
