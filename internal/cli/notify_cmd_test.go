package cli

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/sandboxtest"
)

// `evadmin notify test` sends through every channel the properties set:
// exit 1 naming the channel that failed and why, exit 0 when all deliver.
func TestNotifyTestCommand(t *testing.T) {
	w := newWorld(t, sandboxtest.Passwords(), sandboxtest.SMTP(provider.Microsoft))
	w.addMS("support") // creates the store
	var posts atomic.Int32
	var status atomic.Int32
	status.Store(http.StatusForbidden)
	hook := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if r.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"event":"test"`) {
			http.Error(rw, "bad request", http.StatusBadRequest)
			return
		}
		posts.Add(1)
		rw.WriteHeader(int(status.Load()))
	}))
	defer hook.Close()
	got := filepath.Join(t.TempDir(), "got.json")
	script := filepath.Join(t.TempDir(), "notify-admins")
	os.WriteFile(script, []byte("#!/bin/sh\ncat > \"$1\"\n"), 0o755)
	host, port := sandboxtest.HostPort(t, w.SMTP[provider.Microsoft].Addr[mailauth.StartTLS])
	os.WriteFile(w.conf, []byte(readFile(t, w.conf)+fmt.Sprintf(`NOTIFY_EMAIL_TO = admins@contoso.example
NOTIFY_SMTP_HOST = %s
NOTIFY_SMTP_PORT = %d
NOTIFY_SMTP_TLS_CA_FILE = %s
NOTIFY_SMTP_USER = %s
NOTIFY_SMTP_PASSWORD = %s
NOTIFY_COMMAND = %s %s
NOTIFY_WEBHOOK_URL = %s/hook
`, host, port, w.CAFile, sandboxtest.Clerk, sandboxtest.ClerkPassword, script, got, hook.URL)), 0o600)

	code, out, errs := w.run("", "notify", "test")
	if code != ExitFail || !strings.Contains(errs, "webhook: webhook at 127.0.0.1") || !strings.Contains(errs, "403 Forbidden") ||
		strings.Contains(errs, "email:") || strings.Contains(errs, "command:") {
		t.Fatalf("webhook refusing: exit %d\n%s%s", code, out, errs)
	}
	status.Store(http.StatusOK)
	if out := w.mustRun("", "notify", "test"); !strings.Contains(out, "delivered through every channel") {
		t.Fatalf("notify test: %s", out)
	}
	if posts.Load() != 2 || !strings.Contains(readFile(t, got), `"event":"test"`) {
		t.Fatalf("webhook posts %d, command got %q", posts.Load(), readFile(t, got))
	}
	mails := w.SMTP[provider.Microsoft].Server.Received()
	if len(mails) != 2 || !strings.Contains(string(mails[1].Raw), "Subject: [mailtokens] test notification") {
		t.Fatalf("sink received %d messages", len(mails))
	}
}
