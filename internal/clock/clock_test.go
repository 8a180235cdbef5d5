package clock

import (
	"context"
	"testing"
	"time"
)

func TestFake(t *testing.T) {
	start := time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)
	c := NewFake(start)
	c.Advance(time.Minute)
	if got := c.Now(); !got.Equal(start.Add(time.Minute)) {
		t.Fatalf("after Advance: %v", got)
	}
	if !c.Sleep(context.Background(), time.Hour) || !c.Now().Equal(start.Add(61*time.Minute)) {
		t.Fatalf("after Sleep: %v", c.Now())
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if c.Sleep(ctx, time.Hour) || !c.Now().Equal(start.Add(61*time.Minute)) {
		t.Fatalf("a sleep with an ended context moved the clock: %v", c.Now())
	}
	c.Set(start)
	if !c.Now().Equal(start) {
		t.Fatalf("after Set: %v", c.Now())
	}
}
