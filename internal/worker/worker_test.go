package worker

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

func TestBackoff(t *testing.T) {
	b := Backoff{Min: time.Second, Max: 10 * time.Second}
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

// TestBackoffAfter: a token waiting for an admin is looked at again every
// poll; other failures back off past it.
func TestBackoffAfter(t *testing.T) {
	b := Backoff{Min: time.Minute, Max: time.Hour}
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

// TestRetries: the advice comes once; a repeat is one short line; a new
// failure, or the same one after a success, is told in full again.
func TestRetries(t *testing.T) {
	var full []string
	var brief bytes.Buffer
	r := Retries{
		Report: func(what string, err error, _ time.Duration) { full = append(full, what+": "+err.Error()) },
		Log:    slog.New(slog.NewTextHandler(&brief, nil)),
	}
	down, refused := errors.New("connection refused"), errors.New("535 authentication failed")
	r.Failed("cannot send", "still cannot send", down, time.Second)
	r.Failed("cannot send", "still cannot send", down, 2*time.Second)
	r.Failed("cannot send", "still cannot send", refused, time.Second)
	r.Reset()
	r.Failed("cannot send", "still cannot send", refused, time.Second)
	want := []string{"cannot send: connection refused", "cannot send: 535 authentication failed", "cannot send: 535 authentication failed"}
	if !slices.Equal(full, want) {
		t.Errorf("full reports %q, want %q", full, want)
	}
	if n := strings.Count(brief.String(), "still cannot send"); n != 1 || !strings.Contains(brief.String(), "retry_in=2s") {
		t.Errorf("short lines:\n%s", brief.String())
	}
}

func TestStartupErrorListsEveryProblem(t *testing.T) {
	fail := func(err error) (int, string) {
		var out bytes.Buffer
		p := &cmdline.Program{Name: "evmail", Conf: "t.properties", Commands: []cmdline.Command{
			{Run: func(env *cmdline.Env, _ []string) error { return StartupError(env, err) }}}}
		code := p.Run(context.Background(), nil, strings.NewReader(""), io.Discard, &out)
		return code, out.String()
	}
	ps := taskconf.Problems{{File: "t.properties", Line: 3, Key: "A", Message: "bad"}, {File: "t.properties", Key: "B", Message: "missing"}}
	code, out := fail(ps)
	if code != cmdline.ExitFail || !strings.Contains(out, "evmail: t.properties has 2 problem(s); nothing was done") ||
		!strings.Contains(out, "t.properties:3: A: bad") {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if code, out := fail(errors.New("store locked")); code != cmdline.ExitFail || out != "evmail: store locked\n" {
		t.Fatalf("exit %d: %q", code, out)
	}
}
