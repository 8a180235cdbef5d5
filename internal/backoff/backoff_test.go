package backoff_test

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"mailtokens/internal/backoff"
	"mailtokens/internal/tokenstore"
)

func TestBackoff(t *testing.T) {
	b := backoff.Backoff{Min: time.Second, Max: 10 * time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.Next())
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("delays %v, want %v seconds", got, want)
		}
	}
	b.Reset()
	if d := b.Next(); d != time.Second {
		t.Fatalf("after Reset: %v", d)
	}
}

func TestDelayIsCapped(t *testing.T) {
	b := backoff.Backoff{Min: time.Minute, Max: time.Hour}
	var got []time.Duration
	for n := 1; n <= 9; n++ {
		got = append(got, b.Delay(n))
	}
	want := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60}
	for i := range want {
		if got[i] != want[i]*time.Minute {
			t.Fatalf("delays %v", got)
		}
	}
}

// TestBackoffAfter: a token waiting for an admin is looked at again every
// poll; other failures back off past it.
func TestBackoffAfter(t *testing.T) {
	b := backoff.Backoff{Min: time.Minute, Max: time.Hour}
	wait := &tokenstore.NeedsAuthorizationError{Name: "t", Status: tokenstore.StatusNew}
	if d := b.After(fmt.Errorf("log in: %w", wait), 30*time.Second); d != 30*time.Second {
		t.Errorf("needs authorization: %v, want the poll interval", d)
	}
	if d := b.After(errors.New("connection refused"), 30*time.Second); d != 2*time.Minute {
		t.Errorf("other failure: %v, want the second backoff step", d)
	}
	if d := b.After(wait, time.Hour); d != 4*time.Minute {
		t.Errorf("needs authorization with a long poll: %v, want the backoff step", d)
	}
}
