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

// TestReport: one line per failure, with what to do once (the advice is
// not in the error's text), at the level that says who must act.
func TestReport(t *testing.T) {
	var out bytes.Buffer
	task := &Task{Log: slog.New(slog.NewTextHandler(&out, nil))}
	cases := []struct {
		name  string
		err   error
		level string
		words string
	}{
		{"waits for an admin", fmt.Errorf("IMAP: token: %w", &tokenstore.NeedsAuthorizationError{Name: "t", Status: tokenstore.StatusRevoked}),
			"level=ERROR", "authorize it again"},
		{"refresh retried", fmt.Errorf("SMTP: token: %w", &tokenstore.RefreshFailingError{Name: "t", Cause: errors.New("HTTP 503")}),
			"level=WARN", ""},
		{"unknown", errors.New("disk full"), "level=ERROR", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out.Reset()
			task.Report("cannot receive", c.err, time.Minute)
			line := out.String()
			if !strings.Contains(line, c.level) || !strings.Contains(line, "retry_in=1m0s") {
				t.Fatalf("line %q, want %s", line, c.level)
			}
			if n := strings.Count(line, "what_to_do="); c.words != "" && (n != 1 || strings.Count(line, c.words) != 1) {
				t.Fatalf("the advice should appear once: %q", line)
			} else if c.words == "" && n != 0 {
				t.Fatalf("no advice expected: %q", line)
			}
		})
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
