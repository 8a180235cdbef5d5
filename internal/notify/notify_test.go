package notify_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/notify"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/tokenstore"
)

// hook is a test webhook on loopback: it keeps what it was sent and
// answers with status.
type hook struct {
	mu     sync.Mutex
	docs   []notify.Event
	ctypes []string
	status int
	srv    *httptest.Server
}

func newHook(t *testing.T) *hook {
	h := &hook{status: http.StatusNoContent}
	h.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h.mu.Lock()
		defer h.mu.Unlock()
		if r.Method != http.MethodPost {
			http.Error(w, "POST only", http.StatusMethodNotAllowed)
			return
		}
		if h.status/100 != 2 {
			http.Error(w, "hook is down", h.status)
			return
		}
		var e notify.Event
		if err := json.Unmarshal(body, &e); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		h.docs, h.ctypes = append(h.docs, e), append(h.ctypes, r.Header.Get("Content-Type"))
		w.WriteHeader(h.status)
	}))
	t.Cleanup(h.srv.Close)
	return h
}

func (h *hook) events() []notify.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]notify.Event(nil), h.docs...)
}

func (h *hook) setStatus(s int) {
	h.mu.Lock()
	h.status = s
	h.mu.Unlock()
}

// rig: the sandbox on a fake clock with an Exchange-like SMTP server (the
// sink), a Google token "support" that the tests break and mend, a
// Microsoft token "notify" that evadmin sends its email with (OAUTH2), a
// webhook, and a command that appends each JSON document to a file.
type rig struct {
	*sandboxtest.Env
	sink    *smtpd.Server
	hook    *hook
	cmdOut  string
	n       *notify.Notifier
	support *tokenstore.Token
}

const publicURL = "https://mailtokens.contoso.example"

func newRig(t *testing.T) *rig {
	t.Helper()
	e := sandboxtest.New(t, sandboxtest.FakeClock(sandboxtest.Epoch), sandboxtest.SMTP(provider.Microsoft),
		sandboxtest.Authorized("support", provider.Google), sandboxtest.Authorized("notify", provider.Microsoft))
	r := &rig{Env: e, sink: e.SMTP[provider.Microsoft].Server, hook: newHook(t)}
	var err error
	if r.support, err = e.Store.Get(context.Background(), "support"); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	r.cmdOut = filepath.Join(dir, "received.jsonl")
	script := filepath.Join(dir, "page-admins")
	if err := os.WriteFile(script, []byte("#!/bin/sh\ncat >> \"$1\"\necho >> \"$1\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	host, port := sandboxtest.HostPort(t, e.SMTP[provider.Microsoft].Addr[mailauth.RequireStartTLS])
	srv := mailserver.Server{Protocol: mailserver.SMTP, Host: host, Port: port, Security: mailserver.STARTTLS,
		RootCAs: e.Cert.Pool(), Timeout: 10 * time.Second}
	auth := mailconn.Auth{User: e.World.MSUser, Tokens: e.Store.Source("notify", tokenstore.Actor("evadmin"))}
	email := &notify.Email{From: e.World.MSUser, To: []string{"mail-admins@contoso.example"}, Now: e.Clock.Now,
		Dial: func(ctx context.Context) (*smtp.Client, error) {
			return mailconn.DialSMTP(ctx, srv, auth, mailconn.Options{})
		}}
	r.n, err = notify.New(e.Store, notify.Config{
		Channels:  []notify.Channel{email, &notify.Command{Argv: []string{script, r.cmdOut}}, &notify.Webhook{URL: r.hook.srv.URL + "/hooks/secret-part"}},
		PublicURL: publicURL, Clock: e.Clock})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (r *rig) check(t *testing.T) {
	t.Helper()
	if err := r.n.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// breakSupport makes "support" need authorization the way it happens: the
// user withdraws consent, and the next refresh (the access token is an hour
// old) gets invalid_grant.
func (r *rig) breakSupport(t *testing.T) {
	t.Helper()
	r.IDP.RevokeConsent(r.World.GoogleClientID, r.World.GoogleUser)
	r.Clock.Advance(time.Hour)
	r.Store.Source("support", tokenstore.ActorEvmail).Token(context.Background())
	if tok, _ := r.Store.Get(context.Background(), "support"); tok.Status != tokenstore.StatusNeedsAuthorization {
		t.Fatalf("support is %s, want needs_authorization", tok.Status)
	}
}

// commandDocs reads what the command received.
func (r *rig) commandDocs(t *testing.T) []notify.Event {
	t.Helper()
	data, err := os.ReadFile(r.cmdOut)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []notify.Event
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		var e notify.Event
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("command got %q: %v", line, err)
		}
		out = append(out, e)
	}
	return out
}

// counts says how many notifications each channel has received.
func (r *rig) counts(t *testing.T) [3]int {
	return [3]int{len(r.sink.Received()), len(r.commandDocs(t)), len(r.hook.events())}
}

func wantCounts(t *testing.T, r *rig, want int, when string) {
	t.Helper()
	if got := r.counts(t); got != [3]int{want, want, want} {
		t.Fatalf("%s: email, command, webhook got %v notifications, want %d each", when, got, want)
	}
}

// A token that needs authorization is told on every channel once, again a
// day later if still open, and once as solved after it is mended; the
// webhook and the command get the same JSON, the email links the page.
func TestNotifyOncePerDayAndSolved(t *testing.T) {
	r := newRig(t)
	r.check(t)
	wantCounts(t, r, 0, "healthy tokens")

	r.breakSupport(t)
	r.check(t)
	wantCounts(t, r, 1, "needs authorization")
	e := r.hook.events()[0]
	url := publicURL + "/tokens/" + itoa(r.support.ID)
	if e.Event != notify.EventProblem || e.Token != "support" || e.Problem != notify.NeedsAuthorization || e.URL != url ||
		e.Since == "" || e.At != r.Clock.Now().UTC().Format(time.RFC3339) || e.WhatToDo == "" || e.Detail == "" {
		t.Fatalf("webhook got %+v", e)
	}
	if ct := r.hook.ctypes[0]; ct != "application/json" {
		t.Fatalf("Content-Type %q", ct)
	}
	if c := r.commandDocs(t)[0]; c != e {
		t.Fatalf("command got %+v, webhook %+v", c, e)
	}
	mail := r.sink.Received()[0]
	raw := string(mail.Raw)
	if mail.To[0] != "mail-admins@contoso.example" || !strings.Contains(raw, "Subject: [mailtokens] support: needs authorization") ||
		!strings.Contains(raw, url) || !strings.Contains(raw, "Get Email Token") {
		t.Fatalf("email:\n%s", raw)
	}
	saveSample(t, raw)

	// Still open: nothing more within the day, whatever the number of checks.
	for range 23 {
		r.Clock.Advance(time.Hour)
		r.check(t)
	}
	wantCounts(t, r, 1, "23 hours later")
	r.Clock.Advance(time.Hour)
	r.check(t)
	wantCounts(t, r, 2, "24 hours later")

	// Mended: "solved" after it stayed mended for SolvedAfter, once.
	r.Authorize(t, r.Store, "support", provider.Google)
	r.check(t)
	wantCounts(t, r, 2, "just mended")
	r.Clock.Advance(notify.DefaultSolvedAfter)
	r.check(t)
	wantCounts(t, r, 3, "mended for a while")
	s := r.hook.events()[2]
	if s.Event != notify.EventSolved || s.Problem != notify.NeedsAuthorization || s.URL != url || s.Summary != "needs authorization" {
		t.Fatalf("solved: %+v", s)
	}
	if raw := string(r.sink.Received()[2].Raw); !strings.Contains(raw, "Subject: [mailtokens] solved: support: needs authorization") {
		t.Fatalf("solved email:\n%s", raw)
	}
	r.Clock.Advance(48 * time.Hour)
	r.check(t)
	wantCounts(t, r, 3, "two days after solved")
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// saveSample writes the email as the sink received it to the file
// MAILTOKENS_NOTIFY_SAMPLE names, for the closing note.
func saveSample(t *testing.T, raw string) {
	if path := os.Getenv("MAILTOKENS_NOTIFY_SAMPLE"); path != "" {
		if err := os.WriteFile(path, []byte(raw), 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("wrote the received email to %s", path)
	}
}

// A problem ended by an admin revoking the token is not "solved": the
// admins are told it is closed — no longer watched, and mail stops until
// someone signs in again.
func TestNotifyRevokedIsClosedNotSolved(t *testing.T) {
	r := newRig(t)
	r.breakSupport(t)
	r.check(t)
	wantCounts(t, r, 1, "needs authorization")
	if _, err := r.Store.Revoke(context.Background(), "support", tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	r.check(t)
	r.Clock.Advance(notify.DefaultSolvedAfter)
	r.check(t)
	wantCounts(t, r, 2, "revoked")
	e := r.hook.events()[1]
	if e.Event != notify.EventClosed || e.Problem != notify.NeedsAuthorization || !strings.Contains(e.Detail, "revoked") {
		t.Fatalf("after the revoke: %+v", e)
	}
	raw := string(r.sink.Received()[1].Raw)
	if !strings.Contains(raw, "Subject: [mailtokens] closed: support: needs authorization") || strings.Contains(raw, "Solved") ||
		!strings.Contains(raw, "Get Email Token") {
		t.Fatalf("closed email:\n%s", raw)
	}
}
