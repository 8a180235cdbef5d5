package database

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/testenv/pgtest"
)

// Two processes (two opens of one file: two owners) share one lease: one
// holds it, the other is told who; it passes on release or when its time
// runs out without renewal; and a holder that loses it has its job's
// context cancelled.
func TestLease(t *testing.T) {
	ctx := context.Background()
	opt := Options{Path: pgtest.StorePath(t, filepath.Join(t.TempDir(), "tokens.db")), Key: GenerateKey()}
	a, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	now := time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	la, lb := a.Lease("evmail x", time.Minute), b.Lease("evmail x", time.Minute)
	la.now, lb.now = clock, clock

	if err := la.Acquire(ctx); err != nil {
		t.Fatal(err)
	}
	var held *HeldError
	if err := lb.Acquire(ctx); !errors.As(err, &held) || !strings.Contains(held.Holder, "pid") {
		t.Fatalf("b while a holds it: %v", err)
	}
	if err := la.Acquire(ctx); err != nil {
		t.Fatalf("a renews: %v", err)
	}
	la.Release(ctx)
	if err := lb.Acquire(ctx); err != nil {
		t.Fatalf("b after a released it: %v", err)
	}
	// b dies without releasing: a waits until b's time is up.
	now = now.Add(59 * time.Second)
	if err := la.Acquire(ctx); !errors.As(err, &held) {
		t.Fatalf("a before b's lease ran out: %v", err)
	}
	now = now.Add(2 * time.Second)
	if err := la.Acquire(ctx); err != nil {
		t.Fatalf("a after b's lease ran out: %v", err)
	}

	// Hold: a job whose lease is taken over is stopped.
	la.Release(ctx)
	short := a.Lease("evmail y", 30*time.Millisecond)
	err = short.Hold(ctx, func(ctx context.Context) error {
		// Another process takes the lease as if this one had stalled.
		if _, err := b.ExecContext(ctx, `UPDATE leases SET owner = 'other', until = ? WHERE name = 'evmail y'`, Millis(time.Now().Add(time.Hour))); err != nil {
			return err
		}
		<-ctx.Done()
		return ctx.Err()
	})
	if !errors.As(err, &held) || !strings.Contains(err.Error(), "lost the lease") {
		t.Fatalf("Hold after losing the lease: %v", err)
	}
}

// A holder killed on this host frees its lease at once.
func TestDeadHolderHere(t *testing.T) {
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	host, _ := os.Hostname()
	if !deadHere(fmt.Sprintf("%s/%d/abc", host, cmd.Process.Pid)) {
		t.Error("a process that exited counts as alive")
	}
	for _, owner := range []string{fmt.Sprintf("%s/%d/abc", host, os.Getpid()), "other-host/1/abc", "garbage"} {
		if deadHere(owner) {
			t.Errorf("%s counts as dead", owner)
		}
	}
}
