package idp

import (
	"context"
	"net/url"
	"sync"
	"testing"
)

// With rotation on, a refresh token is good for exactly one refresh, even
// when 100 requests present it at the same moment: one wins, the other 99
// get invalid_grant AADSTS70000 — the failure a token store that does not
// serialize its refreshes would meet.
func TestConformance_ConcurrentRefreshRotation(t *testing.T) {
	s, _ := newWorld(t)
	tok := tokenFor(t, s, msConfig(s), alice)
	const n = 100
	var wg sync.WaitGroup
	replies := make([]reply, n)
	for i := range n {
		wg.Go(func() {
			replies[i] = post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		})
	}
	wg.Wait()
	ok, spent := 0, 0
	for _, r := range replies {
		switch {
		case r.status == 200 && r.str("refresh_token") != "":
			ok++
		case r.status == 400 && r.str("error") == "invalid_grant" && aadsts(r.str("error_description")) == 70000:
			spent++
		default:
			t.Errorf("unexpected reply: HTTP %d %s", r.status, r.raw)
		}
	}
	if ok != 1 || spent != n-1 {
		t.Errorf("%d succeeded and %d got AADSTS70000; want 1 and %d", ok, spent, n-1)
	}
	recs := s.Refreshes()
	if len(recs) != n {
		t.Fatalf("Refreshes() has %d records, want %d", len(recs), n)
	}
	oks := 0
	for _, rec := range recs {
		if rec.Outcome == "ok" {
			oks++
		}
	}
	if oks != 1 {
		t.Errorf("Refreshes() shows %d successes", oks)
	}
}

// Many flows at once, of every kind, under -race.
func TestConformance_ConcurrentMixedTraffic(t *testing.T) {
	s, _ := newWorld(t)
	ms := tokenFor(t, s, msConfig(s), alice)
	g := tokenFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)
	var wg sync.WaitGroup
	errs := make(chan string, 400)
	for range 50 {
		wg.Go(func() {
			if r := post(t, s.URL()+"/google/token", googleForm("grant_type", "refresh_token", "refresh_token", g.RefreshToken)); r.status != 200 {
				errs <- "google refresh: " + r.raw
			}
		})
		wg.Go(func() {
			if !s.Introspect(ms.AccessToken).Active {
				errs <- "introspection failed"
			}
		})
		wg.Go(func() {
			if r := post(t, s.URL()+"/"+contosoID+"/oauth2/v2.0/devicecode", url.Values{"client_id": {msPublicID}, "scope": {exoIMAP}}); r.status != 200 {
				errs <- "devicecode: " + r.raw
			}
		})
		wg.Go(func() {
			cfg := msConfig(s)
			if _, err := s.SignIn(context.Background(), cfg.AuthCodeURL("st"), alice, password); err != nil {
				errs <- "sign-in: " + err.Error()
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
