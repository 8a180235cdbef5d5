package mailin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/pop3d"
	"mailtokens/internal/sandbox/sandboxtest"
)

// rig is the sandbox provider and Exchange-like mail servers, a token
// store with an authorized token "support", and a directory (Dir) for task
// files, the store and the Maildir.
type rig struct {
	t testing.TB
	*sandboxtest.Env
	imap  *imapd.Server
	pop3  *pop3d.Server
	imapS string // IMAP over TLS
	imapP string // IMAP in clear (loopback)
	pop3S string
}

func newRig(t testing.TB, imapOpts ...func(*imapd.Options)) *rig {
	t.Helper()
	return newRigWith(t, sandboxtest.IMAP(provider.Microsoft, imapOpts...))
}

// newRigWith is newRig with more of the sandbox (the IMAP server's
// options, where the store lives).
func newRigWith(t testing.TB, opts ...sandboxtest.Option) *rig {
	t.Helper()
	e := sandboxtest.New(t, append([]sandboxtest.Option{sandboxtest.SharedMailbox(), sandboxtest.Passwords(),
		sandboxtest.IMAP(provider.Microsoft), sandboxtest.POP3(provider.Microsoft),
		sandboxtest.Authorized("support", provider.Microsoft)}, opts...)...)
	// evmail opens the store itself, as the process it is in production.
	e.Store.Close()
	imap, pop3 := e.IMAP[provider.Microsoft], e.POP3[provider.Microsoft]
	return &rig{t: t, Env: e, imap: imap.Server, pop3: pop3.Server,
		imapS: imap.Addr[mailauth.ImplicitTLS], imapP: imap.Addr[mailauth.Plain], pop3S: pop3.Addr[mailauth.ImplicitTLS]}
}

// task writes a task file: the rig's store, OAUTH2 with the token, and the
// given keys on top.
func (r *rig) task(name string, keys map[string]string) string {
	r.t.Helper()
	base := map[string]string{
		"TOKEN_STORE": r.StorePath, "TOKEN_STORE_KEY_FILE": r.KeyFile,
		"MAILBOX_PROTOCOL": "IMAP", "MAILBOX_SECURITY": "SSL", "MAILBOX_TLS_CA_FILE": r.CAFile,
		"MAILBOX_USER": r.World.MSUser, "MAILBOX_AUTH_TYPE": "OAUTH2", "MAILBOX_EMAIL_TOKEN_NAME": "support",
		"MAILBOX_POLL_INTERVAL": "1s", "MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "inbox"),
		"LOG_LEVEL": "DEBUG",
	}
	host, port := splitAddr(r.imapS)
	base["MAILBOX_HOST"], base["MAILBOX_PORT"] = host, port
	for k, v := range keys {
		if v == "" {
			delete(base, k)
		} else {
			base[k] = v
		}
	}
	var b strings.Builder
	var ks []string
	for k := range base {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	for _, k := range ks {
		fmt.Fprintf(&b, "%s = %s\n", k, base[k])
	}
	path := filepath.Join(r.Dir, name+".properties")
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		r.t.Fatal(err)
	}
	return path
}

func splitAddr(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// run runs evmail -once with the task file and returns its exit code and
// log.
//
// Every run's log is searched for the tokens and secrets in the store:
// none may appear, at any log level.
func (r *rig) run(task string, extra ...string) (int, string) {
	var log bytes.Buffer
	code := evmail(context.Background(), append([]string{"-conf", task, "-once"}, extra...), &log)
	r.noSecretsIn(log.String())
	return code, log.String()
}

// noSecretsIn fails the test when text holds a token or client secret of
// the store.
func (r *rig) noSecretsIn(text string) {
	r.t.Helper()
	st := r.OpenStore(r.t)
	defer st.Close()
	list, err := st.List(context.Background())
	if err != nil {
		r.t.Fatal(err)
	}
	for _, t := range list {
		full, err := st.Get(context.Background(), t.Name)
		if err != nil {
			r.t.Fatal(err)
		}
		for _, s := range []string{full.AccessToken.Reveal(), full.RefreshToken.Reveal(), full.ClientSecret.Reveal(), r.World.Password} {
			if len(s) >= 8 && strings.Contains(text, s) {
				r.t.Fatalf("a secret (%.6s…) appears in evmail's log", s)
			}
		}
	}
}

// maildir returns the messages delivered to dir, sorted.
func maildir(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			b, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, string(b))
		}
	}
	sort.Strings(out)
	return out
}

// message makes a test message with CRLF line ends, as servers send them.
func message(i int, body string) []byte {
	return []byte(fmt.Sprintf("From: sender@example.com\r\nTo: support@contoso.example\r\nSubject: test %d\r\nMessage-ID: <m%d@example.com>\r\n\r\n%s\r\n", i, i, body))
}

// lf is what a Maildir holds for msg.
func lf(msg []byte) string { return strings.ReplaceAll(string(msg), "\r\n", "\n") }

func hostOf(addr string) string { h, _ := splitAddr(addr); return h }
func portOf(addr string) string { _, p := splitAddr(addr); return p }
func fmtUID(validity, uid uint32) string {
	return fmt.Sprintf("%d/%d", validity, uid)
}

// reserve returns a loopback address where nothing listens.
func reserve(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// evmail runs the program as its main would, with its log on stderr.
func evmail(ctx context.Context, args []string, stderr io.Writer) int {
	return Program.Run(ctx, args, strings.NewReader(""), io.Discard, stderr)
}
