package mailout

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/clock"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/tokenstore"
)

// testTimeout bounds every wait in a test.
const testTimeout = 30 * time.Second

// fakeClock is a Clock that moves only when a test advances it or a
// sender sleeps on it: a sleep passes at once and moves the time on. The
// sandbox servers read it as an idp.Clock.
type fakeClock struct{ *clock.Fake }

func newFakeClock() *fakeClock {
	return &fakeClock{clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))}
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) bool {
	if ctx.Err() != nil {
		return false
	}
	if d > 0 {
		c.Advance(d)
	}
	return true
}

// logBuffer collects a logger's lines for assertions.
type logBuffer struct{ syncbuf.Buffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// rig is the sandbox: an identity provider, an Exchange-like SMTP server
// that checks its tokens (STARTTLS required, as smtp.office365.com), and a
// token store holding a live token for the world's Microsoft user.
type rig struct {
	idp   *idp.Server
	w     idp.World
	dir   *mailauth.Directory
	cert  *testcert.Cert
	smtp  *smtpd.Server
	addr  string // RequireStartTLS listener
	store *tokenstore.Store
	// storePath and keyFile are the store's files, for task files.
	storePath, keyFile string
	clock              *fakeClock
}

type rigOptions struct {
	ratePerMinute   int
	maxMessageBytes int64
}

func newRig(t testing.TB, opt rigOptions) *rig {
	t.Helper()
	p := idp.NewTest(t, idp.Options{})
	w := p.AddWorld()
	r := &rig{idp: p, w: w, dir: mailauth.New(p.Introspect), clock: newFakeClock()}
	var err error
	if r.cert, err = testcert.New(); err != nil {
		t.Fatal(err)
	}
	r.smtp, err = smtpd.New(smtpd.Options{Style: idp.Microsoft, Directory: r.dir, TLS: r.cert.ServerTLS(),
		RatePerMinute: opt.ratePerMinute, MaxMessageBytes: opt.maxMessageBytes, Clock: r.clock})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.smtp.Close() })
	if r.addr, err = r.smtp.Listen(smtpd.RequireStartTLS); err != nil {
		t.Fatal(err)
	}
	d := t.TempDir()
	r.storePath, r.keyFile = filepath.Join(d, "tokens.db"), filepath.Join(d, "tokens.key")
	r.store, err = tokenstore.Open(context.Background(), tokenstore.Options{Path: r.storePath,
		KeyFile: r.keyFile, HTTPClient: provider.NewHTTPClient(10 * time.Second)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.store.Close() })
	authorize(t, r.store, p, w, "ms")
	return r
}

// authorize stores a live token for the world's Microsoft user under name.
func authorize(t testing.TB, store *tokenstore.Store, p *idp.Server, w idp.World, name string) {
	t.Helper()
	if _, err := tokens.Authorize(context.Background(), store, p, w, name, idp.Microsoft); err != nil {
		t.Fatal(err)
	}
}

func serverOf(t testing.TB, addr string, sec mailconn.Security) mailconn.Server {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, _ := strconv.Atoi(port)
	return mailconn.Server{Protocol: mailconn.SMTP, Host: host, Port: n, Security: sec, Timeout: 10 * time.Second}
}

// dialer logs in to the rig's server as the world's user with the stored
// token, through mailconn as batchmail does.
func (r *rig) dialer(t testing.TB) func(context.Context) (*smtp.Client, error) {
	srv := serverOf(t, r.addr, mailconn.STARTTLS)
	srv.RootCAs = r.cert.Pool()
	auth := mailconn.Auth{User: r.w.MSUser, Tokens: r.store.Source("ms", tokenstore.ActorBatchmail)}
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
	cfg := Config{Spool: spool, From: r.w.MSUser, Dial: r.dialer(t), Server: r.addr,
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
	caFile, _, _, err := r.cert.WriteFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return taskFile(t, r.addr, caFile, r.storePath, r.keyFile, r.w.MSUser, spoolDir, extra)
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
