package multihost

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/mailin"
	"mailtokens/internal/mailout"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/testenv/netns"
	"mailtokens/internal/testenv/pgtest"
	"mailtokens/internal/tokenstore"
)

// programEnv makes this test binary, started again inside a host's
// namespace, run evmail or batchmail instead of the tests.
const programEnv = "MULTIHOST_TEST_PROGRAM"

func TestMain(m *testing.M) {
	if name := os.Getenv(programEnv); name != "" {
		programs := map[string]*cmdline.Program{"evmail": mailin.Program, "batchmail": mailout.Program}
		ctx, stop := cmdline.SignalContext()
		code := programs[name].Run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	os.Exit(m.Run())
}

const token = "shared"

// TestThreeHosts: three hosts run evmail and batchmail each, all reading
// one mailbox and sending as one account with one token, against one
// PostgreSQL. In two rounds the token is stale when the workers need it;
// between them the evmail receiving the mailbox is stopped, so another
// host's takes over. At the end:
//   - the provider saw exactly one refresh per round, each with the
//     refresh token the previous one issued (rotation on: a refresh token
//     presented twice would fail and revoke the grant);
//   - every message in the mailbox was delivered exactly once, to one
//     host's Maildir, and the mailbox is empty;
//   - every message queued on any host reached the SMTP server exactly
//     once, and every spool sent all of its own.
func TestThreeHosts(t *testing.T) {
	if testing.Short() {
		t.Skip("makes network namespaces and runs seven processes")
	}
	const hosts, perRound, perSpool = 3, 30, 10
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	nw := netns.New(t, hosts)
	hub := nw.Hub
	w := newWorld(ctx, t, hub)

	var hs []*host
	for i, ns := range nw.Hosts {
		hs = append(hs, w.newHost(t, i+1, ns))
	}

	// Round 1: mail waiting in the mailbox and in every spool, the token
	// stale, then every worker starts at once.
	w.fillMailbox(t, 0, perRound)
	for _, h := range hs {
		h.queue(t, 0, perSpool)
	}
	w.makeStale(ctx, t)
	for _, h := range hs {
		h.evmail = h.start(t, "evmail", h.evmailConf)
		h.batchmail = h.start(t, "batchmail", h.batchmailConf)
	}
	w.waitDone(ctx, t, hs, perRound, hosts*perSpool)
	if n := len(w.idp.Refreshes()); n != 1 {
		t.Fatalf("round 1: the provider saw %d refreshes, want 1\n%s", n, logs(hs))
	}

	// Round 2: the token stale again, more mail, and the receiving evmail
	// stops halfway (systemctl stop on its host): another host's takes
	// the mailbox's lease and goes on.
	w.makeStale(ctx, t)
	for _, h := range hs {
		h.queue(t, perSpool, perSpool)
	}
	w.fillMailbox(t, perRound, perRound/2)
	receiver := w.receiver(ctx, t, hs)
	receiver.stop(t, receiver.evmail)
	w.fillMailbox(t, perRound+perRound/2, perRound/2)
	w.waitDone(ctx, t, hs, 2*perRound, 2*hosts*perSpool)

	refs := w.idp.Refreshes()
	if len(refs) != 2 {
		t.Fatalf("the provider saw %d refreshes, want 2 (one per round)\n%s", len(refs), logs(hs))
	}
	seen := map[string]bool{}
	for i, r := range refs {
		if r.Outcome != "ok" {
			t.Errorf("refresh %d: %s (AADSTS%d)", i+1, r.Outcome, r.AADSTS)
		}
		if seen[r.RefreshToken] {
			t.Errorf("refresh %d presented a refresh token already presented", i+1)
		}
		seen[r.RefreshToken] = true
	}
	if refs[0].RefreshToken != w.firstRT {
		t.Error("refresh 1 did not present the refresh token the admin's sign-in stored")
	}

	// Every process but the stopped one still runs, and stops cleanly.
	for _, h := range hs {
		for _, p := range []*proc{h.evmail, h.batchmail} {
			if p != receiver.evmail {
				h.stop(t, p)
			}
		}
	}
	perHost := w.deliveredPerHost(t, hs)
	receivers := 0
	for _, n := range perHost {
		if n > 0 {
			receivers++
		}
	}
	if receivers < 2 {
		t.Errorf("mail received per host %v: after host %d's evmail stopped, no other host received", perHost, receiver.n)
	}
	t.Logf("mail received per host %v; refreshes %d; evmail of host %d stopped in round 2", perHost, len(refs), receiver.n)
}

// world is the hub: PostgreSQL, the provider, the IMAP and SMTP servers,
// and the test's own connection to the store.
type world struct {
	hub      *netns.NS
	dir      string
	storeURL string // over TCP to the hub: for the hosts
	keyFile  string
	caFile   string
	idp      *idp.Server
	user     string
	imap     *imapd.Server
	imapAddr string
	smtp     *smtpd.Server
	smtpAddr string
	store    *tokenstore.Store
	firstRT  string
}

func newWorld(ctx context.Context, t *testing.T, hub *netns.NS) *world {
	w := &world{hub: hub, dir: t.TempDir()}
	pg := pgtest.Start(t, pgtest.Options{Listen: hub.Addr, Netns: hub.Path()})
	db := pg.NewDatabase(t)
	w.storeURL = db.URL

	// One certificate for the hub's servers, the provider's HTTPS among
	// them: workers refuse plain HTTP to a provider beyond loopback. The
	// hosts trust its CA (SSL_CERT_FILE, see start).
	cert, err := testcert.New(net.ParseIP(hub.Addr))
	if err != nil {
		t.Fatal(err)
	}
	if w.caFile, _, _, err = cert.WriteFiles(w.dir); err != nil {
		t.Fatal(err)
	}

	// The test's own HTTP requests (signing in to mint the first token)
	// go to the provider in the hub: this test binary talks to nothing
	// else over HTTP.
	saved := http.DefaultTransport
	http.DefaultTransport = &http.Transport{DialContext: hub.DialContext, TLSClientConfig: cert.ClientTLS()}
	t.Cleanup(func() { http.DefaultTransport = saved })

	w.idp = idp.New(idp.Options{Host: hub.Addr, TLS: cert.ServerTLS()})
	if err := hub.Do(w.idp.Start); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.idp.Close() })
	w.idp.SetRotation(true)
	world := w.idp.AddWorld()
	w.user = world.MSUser
	servers := mailauth.ServerOptions{Style: provider.Microsoft, Directory: mailauth.New(w.idp.Introspect),
		TLS: cert.ServerTLS(), Host: hub.Addr}
	if w.imap, err = imapd.New(imapd.Options{ServerOptions: servers}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.imap.Close() })
	if w.smtp, err = smtpd.New(smtpd.Options{ServerOptions: servers}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.smtp.Close() })
	if err := hub.Do(func() (err error) {
		if w.imapAddr, err = w.imap.Listen(mailauth.ImplicitTLS); err != nil {
			return err
		}
		w.smtpAddr, err = w.smtp.Listen(mailauth.RequireStartTLS)
		return err
	}); err != nil {
		t.Fatal(err)
	}

	// The admin's side: the store created, the token signed in.
	w.keyFile = filepath.Join(w.dir, "tokens.key")
	if w.store, err = tokenstore.Open(ctx, tokenstore.Options{Path: db.SocketURL, KeyFile: w.keyFile}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.store.Close() })
	tok, err := tokens.Authorize(ctx, w.store, w.idp, world, token, provider.Microsoft)
	if err != nil {
		t.Fatal(err)
	}
	w.firstRT = tok.RefreshToken.Reveal()
	return w
}

// makeStale leaves the token's access token two minutes: every worker
// that needs it must refresh first (less than ten minutes left).
func (w *world) makeStale(ctx context.Context, t *testing.T) {
	t.Helper()
	now := time.Now()
	if _, err := w.store.DB().ExecContext(ctx, `UPDATE tokens SET access_expires_at = ?, access_issued_at = ? WHERE name = ?`,
		now.Add(2*time.Minute).UnixMilli(), now.Add(-58*time.Minute).UnixMilli(), token); err != nil {
		t.Fatal(err)
	}
}

// fillMailbox appends messages in1 … in(from+n-1) to the shared mailbox.
func (w *world) fillMailbox(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if _, err := w.imap.Append(w.user, "INBOX", message("in"+strconv.Itoa(i), w.user)); err != nil {
			t.Fatal(err)
		}
	}
}

func message(id, to string) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf("From: app@example.com\nTo: %s\nSubject: %s\nMessage-ID: <%s@multihost.test>\n\nmessage %s\n",
		to, id, id, id), "\n", "\r\n"))
}

var messageID = regexp.MustCompile(`(?m)^Message-ID: <([^@>]+)@multihost\.test>\r?$`)

// waitDone waits until the hosts' Maildirs hold received messages and the
// SMTP server has accepted sent messages, then checks that each arrived
// exactly once, that the mailbox is empty and that every spool is sent.
func (w *world) waitDone(ctx context.Context, t *testing.T, hs []*host, received, sent int) {
	t.Helper()
	if _, err := w.smtp.WaitReceived(ctx, sent); err != nil {
		t.Fatalf("the SMTP server got %d of %d messages: %v\n%s", len(w.smtp.Received()), sent, err, logs(hs))
	}
	// A Maildir says nothing when a file arrives: look, briefly, until
	// it holds all or the deadline passes.
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		if n := len(w.delivered(t, hs)); n >= received {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the Maildirs hold %d of %d messages\n%s", len(w.delivered(t, hs)), received, logs(hs))
		case <-tick.C:
		}
	}
	for id, n := range w.delivered(t, hs) {
		if n != 1 {
			t.Errorf("message %s was delivered %d times", id, n)
		}
	}
	if len(w.delivered(t, hs)) != received {
		t.Errorf("%d different messages delivered, want %d", len(w.delivered(t, hs)), received)
	}
	copies := map[string]int{}
	for _, m := range w.smtp.Received() {
		id := messageID.FindSubmatch(m.Raw)
		if id == nil {
			t.Fatalf("the SMTP server got a message without our Message-ID: %.200q", m.Raw)
		}
		copies[string(id[1])]++
	}
	for id, n := range copies {
		if n != 1 {
			t.Errorf("message %s was sent %d times", id, n)
		}
	}
	if len(copies) != sent {
		t.Errorf("%d different messages sent, want %d", len(copies), sent)
	}
	// The receiver deletes a message after delivering it; the last
	// deletion may still be on its way.
	for {
		left, err := w.imap.Messages(w.user, "INBOX")
		if err != nil {
			t.Fatal(err)
		}
		if len(left) == 0 {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatalf("%d messages are still in the mailbox\n%s", len(left), logs(hs))
		case <-tick.C:
		}
	}
	for _, h := range hs {
		for {
			entries, err := os.ReadDir(filepath.Join(h.spool, "new"))
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) == 0 {
				break
			}
			select {
			case <-ctx.Done():
				t.Fatalf("host %d: %d messages still queued\n%s", h.n, len(entries), logs(hs))
			case <-tick.C:
			}
		}
	}
	if t.Failed() {
		t.FailNow()
	}
}

// delivered counts each message's copies in all hosts' Maildirs.
func (w *world) delivered(t *testing.T, hs []*host) map[string]int {
	counts := map[string]int{}
	for _, h := range hs {
		for id, n := range h.delivered(t) {
			counts[id] += n
		}
	}
	return counts
}

func (w *world) deliveredPerHost(t *testing.T, hs []*host) []int {
	var out []int
	for _, h := range hs {
		n := 0
		for _, c := range h.delivered(t) {
			n += c
		}
		out = append(out, n)
	}
	return out
}

// receiver is the host whose evmail holds the mailbox's lease.
func (w *world) receiver(ctx context.Context, t *testing.T, hs []*host) *host {
	t.Helper()
	var holder string
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	// Between two sessions (after a failure) nobody holds it.
	for {
		err := w.store.DB().QueryRowContext(ctx, `SELECT holder FROM leases WHERE name LIKE 'evmail %'`).Scan(&holder)
		if err == nil {
			break
		}
		if !errors.Is(err, sql.ErrNoRows) {
			t.Fatal(err)
		}
		select {
		case <-ctx.Done():
			t.Fatalf("nobody holds the mailbox\n%s", logs(hs))
		case <-tick.C:
		}
	}
	for _, h := range hs {
		if strings.HasSuffix(holder, fmt.Sprintf("pid %d", h.evmail.cmd.Process.Pid)) {
			return h
		}
	}
	t.Fatalf("the mailbox's lease is held by %q, none of the hosts' evmail", holder)
	return nil
}

// host is one namespace with its own directory: task files, a copy of the
// key file, a Maildir and a spool.
type host struct {
	n                         int
	caFile                    string
	ns                        *netns.NS
	dir, inbox, spool         string
	evmailConf, batchmailConf string
	evmail, batchmail         *proc
}

type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
}

func (w *world) newHost(t *testing.T, n int, ns *netns.NS) *host {
	h := &host{n: n, ns: ns, dir: t.TempDir(), caFile: w.caFile}
	h.inbox, h.spool = filepath.Join(h.dir, "inbox"), filepath.Join(h.dir, "outbox")
	// Every host has the key: a copy of the file, as an admin would make.
	key, err := os.ReadFile(w.keyFile)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(h.dir, "tokens.key")
	if err := os.WriteFile(keyFile, key, 0o600); err != nil {
		t.Fatal(err)
	}
	imapHost, imapPort, _ := net.SplitHostPort(w.imapAddr)
	smtpHost, smtpPort, _ := net.SplitHostPort(w.smtpAddr)
	common := fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nLOG_LEVEL = INFO\n", w.storeURL, keyFile)
	h.evmailConf = h.write(t, "evmail.properties", common+fmt.Sprintf(`MAILBOX_PROTOCOL = IMAP
MAILBOX_HOST = %s
MAILBOX_PORT = %s
MAILBOX_SECURITY = SSL
MAILBOX_TLS_CA_FILE = %s
MAILBOX_USER = %s
MAILBOX_AUTH_TYPE = OAUTH2
MAILBOX_EMAIL_TOKEN_NAME = %s
MAILBOX_POLL_INTERVAL = 1s
MAILBOX_AFTER_DELIVERY = DELETE
MAILBOX_DELIVER_TO = maildir:%s
`, imapHost, imapPort, w.caFile, w.user, token, h.inbox))
	h.batchmailConf = h.write(t, "batchmail.properties", common+fmt.Sprintf(`MAIL_HOST = %s
MAIL_PORT = %s
MAIL_SECURITY = STARTTLS
MAIL_TLS_CA_FILE = %s
MAIL_USER = %s
MAIL_AUTH_TYPE = OAUTH2
MAIL_TOKEN_NAME = %s
MAIL_SPOOL_DIR = %s
MAIL_RATE_PER_MINUTE = 0
MAIL_POLL_INTERVAL = 200ms
`, smtpHost, smtpPort, w.caFile, w.user, token, h.spool))
	if _, err := mailout.OpenSpool(h.spool); err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *host) write(t *testing.T, name, text string) string {
	path := filepath.Join(h.dir, name)
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// queue puts messages h<n>-out<from> … into the host's spool, as an
// application does: written in tmp/, renamed into new/.
func (h *host) queue(t *testing.T, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		id := fmt.Sprintf("h%d-out%d", h.n, i)
		tmp := filepath.Join(h.spool, "tmp", id)
		if err := os.WriteFile(tmp, message(id, "someone@example.com"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, filepath.Join(h.spool, "new", id)); err != nil {
			t.Fatal(err)
		}
	}
}

// delivered counts each message's copies in the host's Maildir.
func (h *host) delivered(t *testing.T) map[string]int {
	counts := map[string]int{}
	for _, sub := range []string{"new", "cur"} {
		entries, err := os.ReadDir(filepath.Join(h.inbox, sub))
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(h.inbox, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			id := messageID.FindSubmatch(data)
			if id == nil {
				t.Fatalf("host %d: a delivered file without our Message-ID (a partial write?): %.200q", h.n, data)
			}
			counts[string(id[1])]++
		}
	}
	return counts
}

// start runs program (this test binary as evmail or batchmail) with conf
// in the host's namespace: ip netns exec. It is killed when the test ends,
// or when this test process dies.
func (h *host) start(t *testing.T, program, conf string) *proc {
	t.Helper()
	p := &proc{name: program, log: filepath.Join(h.dir, program+".log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	p.cmd = h.ns.Command(os.Args[0], "-conf", conf)
	p.cmd.Env = append(os.Environ(), programEnv+"="+program, "SSL_CERT_FILE="+h.caFile)
	p.cmd.Stdout, p.cmd.Stderr = logFile, logFile
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// stop sends p SIGTERM, as systemctl stop does, and expects it to end
// cleanly within ten seconds.
func (h *host) stop(t *testing.T, p *proc) {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		t.Fatalf("host %d: %s did not stop within 10 s of SIGTERM\n%s", h.n, p.name, tail(p.log))
	}
	if !p.cmd.ProcessState.Success() {
		t.Errorf("host %d: %s ended with %v\n%s", h.n, p.name, p.cmd.ProcessState, tail(p.log))
	}
}

var logsMu sync.Mutex

// logs is the end of every process's log, for a failure message.
func logs(hs []*host) string {
	logsMu.Lock()
	defer logsMu.Unlock()
	var b strings.Builder
	for _, h := range hs {
		for _, p := range []*proc{h.evmail, h.batchmail} {
			if p != nil {
				fmt.Fprintf(&b, "--- host %d %s:\n%s\n", h.n, p.name, tail(p.log))
			}
		}
	}
	return b.String()
}

func tail(path string) string {
	data, _ := os.ReadFile(path)
	if len(data) > 3000 {
		data = data[len(data)-3000:]
	}
	return string(data)
}
