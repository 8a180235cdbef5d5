package accounts

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"mailtokens/internal/clock"
)

func TestDelay(t *testing.T) {
	for n, want := range map[int]time.Duration{
		0: 0, 1: 0, FreeAttempts - 1: 0, FreeAttempts: FirstDelay, FreeAttempts + 1: 2 * FirstDelay,
		FreeAttempts + 2: 4 * FirstDelay, 30: MaxDelay, 1000: MaxDelay,
	} {
		if got := delay(n); got != want {
			t.Errorf("delay(%d) = %v, want %v", n, got, want)
		}
	}
}

// The throttle lives in the database: another process (evadmin admin
// unlock) sees and clears it, and a second utility behind a load balancer
// counts the same failures.
func TestThrottleSharedAndUnlocked(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(time.Now())
	a := openTest(t, fake.Now)
	if _, err := a.SetAdminPassword(ctx, "alice", "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	other := New(a.db, fake.Now) // the second instance
	for i := range FreeAttempts {
		s := a
		if i%2 == 1 {
			s = other
		}
		if _, err := s.Login(ctx, "alice", "guess guess guess", "192.0.2.1"); !errors.Is(err, ErrBadLogin) {
			t.Fatalf("attempt %d: %v", i+1, err)
		}
	}
	var throttled *ThrottledError
	if _, err := other.Login(ctx, "Alice", "correct horse battery", "192.0.2.1"); !errors.As(err, &throttled) || throttled.Wait != FirstDelay {
		t.Fatalf("the other instance, name in other case: %v", err)
	}
	if _, err := a.Login(ctx, "alice", "correct horse battery", "192.0.2.2"); err != nil {
		t.Fatalf("from another address: %v", err)
	}
	if n, err := New(a.db, nil).Unlock(ctx, "ALICE", ActorCLI); err != nil || n != 1 {
		t.Fatalf("unlock: %d %v", n, err)
	}
	if _, err := a.Login(ctx, "alice", "correct horse battery", "192.0.2.1"); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

// Made-up names cannot grow the table past its cap, and do not push out a
// key with more failures (the one guessing a real admin).
func TestThrottleKeysCapped(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(time.Now())
	a := openTest(t, fake.Now)
	a.maxThrottleKeys = 50
	for range FreeAttempts {
		a.Login(ctx, "alice", "guess guess guess", "192.0.2.1")
	}
	for i := range 200 {
		fake.Advance(time.Millisecond)
		if _, err := a.Login(ctx, fmt.Sprintf("made-up-%d", i), "guess guess guess", "192.0.2.1"); !errors.Is(err, ErrBadLogin) {
			t.Fatal(err)
		}
	}
	var n int
	if err := a.db.QueryRow(`SELECT COUNT(*) FROM login_throttle`).Scan(&n); err != nil || n != 50 {
		t.Fatalf("%d keys (%v), want the cap 50", n, err)
	}
	var throttled *ThrottledError
	if _, err := a.Login(ctx, "alice", "guess guess guess", "192.0.2.1"); !errors.As(err, &throttled) {
		t.Fatalf("alice's key was pushed out: %v", err)
	}
	// A day later the quiet keys are forgotten when a new one comes.
	fake.Advance(forgetAfter + time.Second)
	a.Login(ctx, "newcomer", "guess guess guess", "192.0.2.9")
	if err := a.db.QueryRow(`SELECT COUNT(*) FROM login_throttle`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("%d keys a day later (%v), want 1", n, err)
	}
}

func TestLoginRefusesBadNamesUncounted(t *testing.T) {
	a := openTest(t, nil)
	for _, name := range []string{"", "-x", "a b", "alice\n", string(make([]byte, 65))} {
		if _, err := a.Login(context.Background(), name, "guess guess guess", "192.0.2.1"); !errors.Is(err, ErrBadName) {
			t.Errorf("Login(%q) = %v, want ErrBadName", name, err)
		}
	}
	var n int
	if a.db.QueryRow(`SELECT COUNT(*) FROM login_throttle`).Scan(&n); n != 0 {
		t.Fatalf("%d keys for refused names", n)
	}
}
