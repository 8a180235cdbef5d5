package mailout

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/clock"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/tokenstore"
)

// testTimeout bounds every wait in a test.
const testTimeout = 30 * time.Second

// logBuffer collects a logger's lines for assertions.
type logBuffer struct{ syncbuf.Buffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// rig is the sandbox: an identity provider, an Exchange-like SMTP server
// that checks its tokens (STARTTLS required, as smtp.office365.com), and a
// token store holding a live token "ms" for the world's Microsoft user.
type rig struct {
	*sandboxtest.Env
	smtp *smtpd.Server
	addr string // RequireStartTLS listener
	// clock is the sender's and the SMTP server's; a sender's sleep passes
	// at once and moves it on. The provider and the store keep real time.
	clock *clock.Fake
}

type rigOptions struct {
	ratePerMinute   int
	maxMessageBytes int64
	store           string // where the store lives, when not where sandboxtest puts it
}

func newRig(t testing.TB, opt rigOptions) *rig {
	t.Helper()
	c := clock.NewFake(sandboxtest.Epoch)
	opts := []sandboxtest.Option{sandboxtest.Authorized("ms", provider.Microsoft), sandboxtest.SMTP(provider.Microsoft, func(o *smtpd.Options) {
		o.RatePerMinute, o.MaxMessageBytes, o.Clock = opt.ratePerMinute, opt.maxMessageBytes, c
	})}
	if opt.store != "" {
		opts = append(opts, sandboxtest.StoreAt(opt.store))
	}
	w := sandboxtest.New(t, opts...)
	smtp := w.SMTP[provider.Microsoft]
	return &rig{Env: w, smtp: smtp.Server, addr: smtp.Addr[mailauth.RequireStartTLS], clock: c}
}

func serverOf(t testing.TB, addr string, sec mailserver.Security) mailserver.Server {
	t.Helper()
	host, n := sandboxtest.HostPort(t, addr)
	return mailserver.Server{Protocol: mailserver.SMTP, Host: host, Port: n, Security: sec, Timeout: 10 * time.Second}
}

// dialer logs in to the rig's server as the world's user with the stored
// token, through mailconn as batchmail does.
func (r *rig) dialer(t testing.TB) func(context.Context) (*smtp.Client, error) {
	srv := serverOf(t, r.addr, mailserver.STARTTLS)
	srv.RootCAs = r.Cert.Pool()
	auth := mailconn.Auth{User: r.World.MSUser, Tokens: r.Store.Source("ms", tokenstore.ActorBatchmail)}
	return func(ctx context.Context) (*smtp.Client, error) {
		return mailconn.DialSMTP(ctx, srv, auth, mailconn.Options{})
	}
}

// sender is a Sender on a fresh spool for the rig, on the rig's clock.
func (r *rig) sender(t testing.TB, log *slog.Logger, edit func(*Config)) (*Sender, *Spool) {
	t.Helper()
	spool, err := OpenSpool(filepath.Join(t.TempDir(), "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := Config{Spool: spool, From: r.World.MSUser, Dial: r.dialer(t), Server: r.addr,
		Clock: r.clock, Log: log, CommandTimeout: 10 * time.Second, EndDataTimeout: 10 * time.Second}
	if edit != nil {
		edit(&cfg)
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s, spool
}

// queue puts a message into new/ as an application would.
func queue(t testing.TB, spool *Spool, name, text string) {
	t.Helper()
	tmp := spool.path(DirTmp, name)
	if err := os.WriteFile(tmp, []byte(text), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, spool.path(DirNew, name)); err != nil {
		t.Fatal(err)
	}
}

// testMessage is a small message with CRLF line ends.
func testMessage(from, to, subject, body string) string {
	return crlf(fmt.Sprintf("From: %s\nTo: %s\nSubject: %s\nMessage-ID: <%s@test>\n\n%s\n", from, to, subject,
		strings.ReplaceAll(subject, " ", "-"), body))
}

func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

// files lists a spool directory's names.
func files(t testing.TB, spool *Spool, sub string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(spool.Dir, sub))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func readFile(t testing.TB, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

func mustState(t testing.TB, spool *Spool, name string) *retryState {
	t.Helper()
	st, err := spool.loadState(name)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// conf writes a batchmail task file for the rig's server and token, with
// the spool at spoolDir and extra lines appended.
func (r *rig) conf(t testing.TB, spoolDir, extra string) string {
	t.Helper()
	return taskFile(t, r.addr, r.CAFile, r.StorePath, r.KeyFile, r.World.MSUser, spoolDir, extra)
}

// taskFile writes a task file for an OAUTH2 login with the token "ms"
// over STARTTLS to addr.
func taskFile(t testing.TB, addr, caFile, storePath, keyFile, user, spoolDir, extra string) string {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	text := fmt.Sprintf(`TOKEN_STORE = %s
TOKEN_STORE_KEY_FILE = %s
MAIL_HOST = %s
MAIL_PORT = %s
MAIL_SECURITY = STARTTLS
MAIL_TLS_CA_FILE = %s
MAIL_USER = %s
MAIL_AUTH_TYPE = OAUTH2
MAIL_TOKEN_NAME = ms
MAIL_SPOOL_DIR = %s
MAIL_RATE_PER_MINUTE = 0
%s`, storePath, keyFile, host, port, caFile, user, spoolDir, extra)
	path := filepath.Join(t.TempDir(), "batchmail.properties")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// dialNoAuth connects to addr and says EHLO, without TLS or login: for
// servers that need none (smtp-sink, the fake server).
func dialNoAuth(addr string) func(context.Context) (*smtp.Client, error) {
	return func(ctx context.Context) (*smtp.Client, error) {
		conn, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return nil, err
		}
		c, err := smtp.NewClient(conn, "127.0.0.1")
		if err != nil {
			conn.Close()
			return nil, err
		}
		if err := c.Hello("localhost"); err != nil {
			c.Close()
			return nil, err
		}
		return c, nil
	}
}
