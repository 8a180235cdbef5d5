package admin

import (
	"context"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"mailtokens/internal/admin/accounts"
)

// loginAs posts the login form, with extra headers (X-Forwarded-For).
func (b *browser) loginAs(name, password string, hdr ...string) response {
	return b.do(http.MethodPost, "/login", url.Values{"name": {name}, "password": {password}}, hdr...)
}

func addAdmin(t *testing.T, h *harness, name, password string) {
	t.Helper()
	if _, err := accounts.New(h.Store.DB(), nil).SetAdminPassword(context.Background(), name, password); err != nil {
		t.Fatal(err)
	}
}

// Wrong passwords from one address, for a name that does not exist and
// for alice, slow down guessing alice from there and nothing else: bob,
// at the same address, logs in at once. (Before: five failures for any
// name locked every admin out of that address for 15 minutes.)
func TestLoginGuessesDoNotLockOutOtherAdmins(t *testing.T) {
	h := newHarness(t)
	addAdmin(t, h, "bob", "bob's long password")
	b := h.browser()
	for range 10 {
		b.loginAs("nobody", "guess guess guess")
		b.loginAs(adminName, "guess guess guess")
	}
	if r := b.loginAs(adminName, adminPassword); r.status != http.StatusTooManyRequests {
		t.Fatalf("alice right after 10 wrong guesses from this address: %d, want 429", r.status)
	}
	if r := h.browser().loginAs("bob", "bob's long password"); r.status != http.StatusSeeOther {
		t.Fatalf("bob, at the address guessing alice and nobody: %d %s", r.status, flashOrErrors(r.body))
	}
}

// Behind a trusted reverse proxy the address is the one the proxy saw:
// an attacker guessing alice's password through the proxy does not slow
// alice down at her own address. A client the proxy setting does not
// trust cannot choose its address with the header.
func TestLoginBehindTrustedProxy(t *testing.T) {
	h := newHarness(t, func(_ *harness, c *Config) {
		c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	})
	attacker := h.browser()
	for range 10 {
		attacker.loginAs(adminName, "guess guess guess", "X-Forwarded-For", "203.0.113.9")
	}
	if r := attacker.loginAs(adminName, adminPassword, "X-Forwarded-For", "203.0.113.9"); r.status != http.StatusTooManyRequests {
		t.Fatalf("the guessing address: %d, want 429", r.status)
	}
	// A client may send its own X-Forwarded-For: only what the trusted
	// proxy appended (the rightmost untrusted address) counts.
	if r := attacker.loginAs(adminName, adminPassword, "X-Forwarded-For", "198.51.100.7, 203.0.113.9"); r.status != http.StatusTooManyRequests {
		t.Fatalf("the guessing address with a forged hop in front: %d, want 429", r.status)
	}
	if r := h.browser().loginAs(adminName, adminPassword, "X-Forwarded-For", "198.51.100.7"); r.status != http.StatusSeeOther {
		t.Fatalf("alice at her own address behind the proxy: %d %s", r.status, flashOrErrors(r.body))
	}

	// Without the setting the header is ignored: guessing with a new
	// X-Forwarded-For each time does not escape the throttle.
	h2 := newHarness(t)
	c := h2.browser()
	for i := range 10 {
		c.loginAs(adminName, "guess guess guess", "X-Forwarded-For", "203.0.113."+string(rune('0'+i)))
	}
	if r := c.loginAs(adminName, adminPassword, "X-Forwarded-For", "192.0.2.1"); r.status != http.StatusTooManyRequests {
		t.Fatalf("an untrusted X-Forwarded-For changed the address: %d, want 429", r.status)
	}
}

// Concurrent guesses are counted before the password is hashed: of 40 at
// once, only the free attempts reach bcrypt; the rest are refused. (Before:
// all 40 were checked, the limiter counting only after each hash.)
func TestLoginConcurrentGuessesCountedBeforeHashing(t *testing.T) {
	// A real hashing cost makes each check take long enough for all 40 to
	// be in flight at once.
	accounts.SetBcryptCostForTests(10)
	t.Cleanup(func() { accounts.SetBcryptCostForTests(bcrypt.MinCost) })
	h := newHarness(t)
	var wg sync.WaitGroup
	statuses := make(chan int, 40)
	for range 40 {
		wg.Go(func() { statuses <- h.browser().loginAs(adminName, "guess guess guess").status })
	}
	wg.Wait()
	close(statuses)
	count := map[int]int{}
	for s := range statuses {
		count[s]++
	}
	if count[http.StatusUnauthorized] != accounts.FreeAttempts || count[http.StatusTooManyRequests] != 40-accounts.FreeAttempts {
		t.Fatalf("40 concurrent guesses: %d checked (401), %d refused (429), others %v; want %d checked",
			count[http.StatusUnauthorized], count[http.StatusTooManyRequests], count, accounts.FreeAttempts)
	}
}

// A login name that breaks the admin-name rule is refused before it is
// logged, echoed or counted. (Before: a 9 MB name was logged verbatim,
// echoed in the page and kept as a limiter key.)
func TestLoginHugeNameNotLoggedEchoedOrCounted(t *testing.T) {
	h := newHarness(t)
	huge := strings.Repeat("a", 9<<20)
	b := h.browser()
	r := b.loginAs(huge, "guess guess guess")
	if r.status != http.StatusBadRequest && r.status != http.StatusRequestEntityTooLarge {
		t.Errorf("a 9 MB name: %d, want 400 or 413", r.status)
	}
	if strings.Contains(r.body, strings.Repeat("a", 1000)) {
		t.Errorf("the page echoes the 9 MB name (%d bytes)", len(r.body))
	}
	if n := len(h.logBuf.String()); n > 4096 {
		t.Errorf("the log grew by %d bytes for one login", n)
	}
	bad := strings.Repeat("x", 65) // one more than the rule allows
	for _, name := range []string{bad, "alice\nINFO forged log line", "<script>"} {
		r := b.loginAs(name, "guess guess guess")
		if r.status != http.StatusBadRequest || strings.Contains(r.body, name) {
			t.Errorf("name %q: %d, echoed: %v", name, r.status, strings.Contains(r.body, name))
		}
	}
	if strings.Contains(h.logBuf.String(), "forged log line") || strings.Contains(h.logBuf.String(), bad) {
		t.Errorf("a refused name was logged:\n%s", h.logBuf.String())
	}
	var keys int
	if err := h.Store.DB().QueryRow(`SELECT COUNT(*) FROM login_throttle`).Scan(&keys); err != nil || keys != 0 {
		t.Errorf("throttle keys after refused names: %d (%v), want 0", keys, err)
	}
	// The right name and password still work at once.
	if r := b.loginAs(adminName, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("login after refused names: %d %s", r.status, flashOrErrors(r.body))
	}
}

// After the free attempts each wrong password doubles the wait; waiting it
// out (the fake clock) allows one more try, and the right password resets
// the count.
func TestLoginDelaysGrow(t *testing.T) {
	h := newHarness(t)
	b := h.browser()
	for i := range accounts.FreeAttempts {
		if r := b.loginAs(adminName, "guess guess guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("free attempt %d: %d", i+1, r.status)
		}
	}
	var waits []time.Duration
	for range 4 {
		r := b.loginAs(adminName, adminPassword)
		if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "Too many failed logins") || r.header.Get("Retry-After") == "" {
			t.Fatalf("during the delay: %d %q", r.status, r.header.Get("Retry-After"))
		}
		d, err := time.ParseDuration(r.header.Get("Retry-After") + "s")
		if err != nil {
			t.Fatal(err)
		}
		waits = append(waits, d)
		h.Clock.Advance(d)
		if r := b.loginAs(adminName, "guess guess guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("after waiting %v: %d", d, r.status)
		}
	}
	for i := 1; i < len(waits); i++ {
		if waits[i] != 2*waits[i-1] {
			t.Fatalf("waits %v do not double", waits)
		}
	}
	if waits[0] > time.Minute {
		t.Fatalf("first wait %v: a typo should not cost more than a minute", waits[0])
	}
	d := accounts.MaxDelay
	h.Clock.Advance(d)
	if r := b.loginAs(adminName, adminPassword); r.status != http.StatusSeeOther {
		t.Fatalf("after %v: %d", d, r.status)
	}
	// The right password cleared the count: a typo now is free again.
	if r := b.loginAs(adminName, "typo typo typo"); r.status != http.StatusUnauthorized {
		t.Fatalf("a typo after a good login: %d", r.status)
	}
}
