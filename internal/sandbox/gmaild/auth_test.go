package gmaild

import (
	"net/http"
	"testing"
	"time"

	"mailtokens/internal/provider"
)

// 401 for no token, a made-up one, an expired one and a Microsoft one;
// 403 insufficientPermissions for a scope that does not allow the method;
// 403 "Delegation denied" for another user's address.
func TestAuth(t *testing.T) {
	f := newFixture(t)
	r := f.do(t, "GET", me+"/profile", "", nil)
	wantError(t, "no token", r, http.StatusUnauthorized, "required", "")
	if r.Header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
	wantError(t, "made-up token", f.do(t, "GET", me+"/profile", "ya29.nonsense", nil), http.StatusUnauthorized, "authError", "")
	ms := f.Token(t, provider.Microsoft, f.World.MSUser, "https://graph.microsoft.com/Mail.Read")
	wantError(t, "Microsoft token", f.do(t, "GET", me+"/profile", ms, nil), http.StatusUnauthorized, "authError", "")
	old := f.token(t, full)
	f.Clock.Advance(2 * time.Hour)
	wantError(t, "expired token", f.do(t, "GET", me+"/profile", old, nil), http.StatusUnauthorized, "authError", "")

	if _, err := f.imap.Append(f.user, "INBOX", msg("hello")); err != nil {
		t.Fatal(err)
	}
	send := f.token(t, sendOnly)
	for _, p := range []string{"/profile", "/labels", "/messages", "/history?startHistoryId=1"} {
		wantError(t, "gmail.send reading "+p, f.do(t, "GET", me+p, send, nil), http.StatusForbidden, "insufficientPermissions",
			"Request had insufficient authentication scopes.")
	}
	ro := f.token(t, readonly)
	id := f.ids(t, ro, "labelIds=INBOX")[0]
	wantError(t, "readonly modify", f.do(t, "POST", me+"/messages/"+id+"/modify", ro, []byte(`{"removeLabelIds":["UNREAD"]}`)),
		http.StatusForbidden, "insufficientPermissions", "")
	wantError(t, "readonly send", f.do(t, "POST", me+"/messages/send", ro, []byte(`{"raw":"eA"}`)), http.StatusForbidden, "insufficientPermissions", "")
	mod := f.token(t, modify)
	wantError(t, "modify delete", f.do(t, "DELETE", me+"/messages/"+id, mod, nil), http.StatusForbidden, "insufficientPermissions", "")
	if v := f.get(t, me+"/messages/"+id+"?format=minimal", mod); v["id"] != id {
		t.Errorf("message after refused delete: %v", v)
	}

	// The user's own address works as "me" does; another's is refused.
	if v := f.get(t, "/gmail/v1/users/Support.Team@gmail.example/profile", ro); v["emailAddress"] != f.user {
		t.Errorf("profile by address: %v", v)
	}
	wantError(t, "another user", f.do(t, "GET", "/gmail/v1/users/"+colleague+"/messages", ro, nil), http.StatusForbidden, "forbidden",
		"Delegation denied for "+f.user)
	wantError(t, "unknown path", f.do(t, "GET", "/gmail/v1/users/me/threads", ro, nil), http.StatusNotFound, "notFound", "")
}

// Injected faults answer before the token is looked at, with Retry-After;
// the per-user quota refuses once the window's units are spent.
func TestThrottle(t *testing.T) {
	f := newFixture(t, func(o *Options) { o.UserQuota = 12 })
	tok := f.token(t, full)
	f.srv.InjectFaults(2, http.StatusTooManyRequests, 1500*time.Millisecond)
	for range 2 {
		r := f.do(t, "GET", me+"/profile", "", nil)
		wantError(t, "injected 429", r, http.StatusTooManyRequests, "rateLimitExceeded", "")
		if r.Header.Get("Retry-After") != "2" {
			t.Errorf("Retry-After %q, want 2", r.Header.Get("Retry-After"))
		}
	}
	f.srv.InjectFaults(1, http.StatusForbidden, 0)
	wantError(t, "injected 403", f.do(t, "GET", me+"/profile", tok, nil), http.StatusForbidden, "userRateLimitExceeded", "")
	f.get(t, me+"/profile", tok)             // 1 unit
	f.get(t, me+"/messages", tok)            // 5
	f.get(t, me+"/messages?labelIds=X", tok) // 5: 11 spent
	r := f.do(t, "GET", me+"/messages", tok, nil)
	wantError(t, "quota", r, http.StatusTooManyRequests, "rateLimitExceeded", "")
	if r.Header.Get("Retry-After") != "60" || f.srv.QuotaUsed(f.user) != 11 {
		t.Errorf("Retry-After %q, used %d", r.Header.Get("Retry-After"), f.srv.QuotaUsed(f.user))
	}
	f.get(t, me+"/profile", tok) // 1 unit still fits
	f.Clock.Advance(time.Minute)
	f.get(t, me+"/messages", tok)
}
