package mailin

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/dovecot"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// manyDovecot starts a Dovecot for clients simultaneous sessions that
// checks the rig's tokens. Past fs.inotify.max_user_instances (often 128)
// IDLE sessions cannot use inotify (they all run as the one mail uid), so
// they look at their mailbox every second instead of Dovecot's default 30.
// It skips (fails under MAILTOKENS_REQUIRE_ALL=1) without Dovecot.
func (r *rig) manyDovecot(t testing.TB, clients int) *dovecot.Server {
	t.Helper()
	return dovecot.Start(t, dovecot.Options{IntrospectionURL: r.IDP.URL() + "/introspect", TLS: true,
		Clients: clients, IdleCheckInterval: time.Second})
}

// boxUser is the i-th of many mailboxes, a user of the sandbox tenant, and
// boxToken the name of its token in the store.
func boxUser(i int) string  { return fmt.Sprintf("box%04d@contoso.example", i) }
func boxToken(i int) string { return fmt.Sprintf("box%04d", i) }

// addBoxUsers makes n users of the sandbox tenant (boxUser) and stores a
// live token of each under boxToken, so that every mailbox logs in with
// OAUTH2 as itself. The tokens come by the provider's real route
// (idp.MintToken: authorization page, sign-in form, consent, code
// exchange) over HTTP, without a browser; Dovecot checks them by
// introspection.
func (r *rig) addBoxUsers(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	st := r.OpenStore(t)
	defer st.Close()
	for i := range n {
		r.IDP.AddUser(idp.User{Email: boxUser(i), Password: r.World.Password, Tenant: r.World.TenantID, Provider: provider.Microsoft})
	}
	// Minting is HTTP to the sandbox and store writes: a few at a time.
	inParallel(t, n, 4, func(i int) error {
		set := tokens.Settings(r.IDP, r.World, boxToken(i), provider.Microsoft)
		set.Config.Email = boxUser(i)
		if _, err := st.Create(ctx, set, tokenstore.ActorCLI); err != nil {
			return err
		}
		at, rt, err := r.IDP.MintToken(ctx, r.World, provider.Microsoft, boxUser(i))
		if err != nil {
			return err
		}
		_, err = st.SaveGrant(ctx, boxToken(i), tokenstore.GrantAuthorizationCode, &provider.Token{
			AccessToken: secret.New(at), RefreshToken: secret.New(rt), ExpiresIn: time.Hour}, tokenstore.ActorCLI)
		return err
	})
}

// inParallel runs do(i) for every i below n on workers goroutines, and
// fails t with the errors.
func inParallel(t testing.TB, n, workers int, do func(i int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				if err := do(i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// boxTask writes the task file of mailbox i into dir, named after its
// token: OAUTH2 as boxUser(i) with its own token, against dc over TLS
// (IMAPS or POP3S), delivering to the Maildir out; keys on top.
func (r *rig) boxTask(dir string, dc *dovecot.Server, i int, proto, out string, keys map[string]string) {
	r.t.Helper()
	r.boxTaskAs(dir, boxToken(i), dc, i, proto, out, keys)
}

// boxTaskAs is boxTask into the file name.properties.
func (r *rig) boxTaskAs(dir, name string, dc *dovecot.Server, i int, proto, out string, keys map[string]string) {
	r.t.Helper()
	addr := dc.IMAPSAddr
	if proto == "POP3" {
		addr = dc.POP3SAddr
	}
	host, port := splitAddr(addr)
	base := map[string]string{"MAILBOX_PROTOCOL": proto, "MAILBOX_HOST": host, "MAILBOX_PORT": port,
		"MAILBOX_SECURITY": "SSL", "MAILBOX_TLS_CA_FILE": dc.CAFile, "MAILBOX_USER": boxUser(i),
		"MAILBOX_EMAIL_TOKEN_NAME": boxToken(i), "MAILBOX_DELIVER_TO": "maildir:" + out, "LOG_LEVEL": "INFO"}
	for k, v := range keys {
		base[k] = v
	}
	r.taskIn(dir, name, base)
}

// countIn is how many messages the Maildir dir holds (new/ and cur/),
// without reading them.
func countIn(dir string) int {
	n := 0
	for _, sub := range []string{"new", "cur"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		n += len(entries)
	}
	return n
}

// waitLong polls cond every 50 ms until it holds, failing t after limit.
func waitLong(t testing.TB, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTasksDovecot: one `evmail -tasks DIR` process receives 200 mailboxes
// of a real Dovecot, each its own user logging in with XOAUTH2 with its own
// token (checked by Dovecot through the sandbox's introspection) and each
// delivering to its own Maildir: IMAP with IDLE, every 25th over POP3.
// Beside them, a task whose server is dead and one whose login Dovecot
// refuses. A message delivered to every mailbox before the start and one
// while the tasks run (IDLE, not the poll interval, must bring it: the IMAP
// tasks poll every 10 minutes) each arrive exactly once; the two failing
// tasks deliver nothing and say why.
func TestTasksDovecot(t *testing.T) {
	if testing.Short() {
		t.Skip("200 mailboxes of a real Dovecot")
	}
	const n = 200
	r := newRig(t)
	dc := r.manyDovecot(t, n+50)
	r.addBoxUsers(t, n)
	dir := filepath.Join(r.Dir, "tasks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out := func(i int) string { return filepath.Join(r.Dir, "out", boxToken(i)) }
	pop3 := func(i int) bool { return i%25 == 24 }
	for i := range n {
		proto, keys := "IMAP", map[string]string{"MAILBOX_POLL_INTERVAL": "10m"}
		switch {
		case pop3(i):
			proto, keys = "POP3", map[string]string{"MAILBOX_POLL_INTERVAL": "1s"}
		case i%2 == 0:
			keys["MAILBOX_AFTER_DELIVERY"] = "DELETE"
		}
		r.boxTask(dir, dc, i, proto, out(i), keys)
		dc.Deliver(t, boxUser(i), message(i, "before the start"))
	}
	deadHost, deadPort := splitAddr(reserve(t))
	r.boxTaskAs(dir, "dead-server", dc, 1, "IMAP", filepath.Join(r.Dir, "dead"),
		map[string]string{"MAILBOX_HOST": deadHost, "MAILBOX_PORT": deadPort})
	// A live token whose owner is not the mailbox: Dovecot's introspection
	// names box0002, the login says nobody.
	r.boxTaskAs(dir, "refused", dc, 2, "IMAP", filepath.Join(r.Dir, "refused"),
		map[string]string{"MAILBOX_USER": "nobody@contoso.example"})

	log, _ := r.startTasks(dir)
	all := func(want int) func() bool {
		return func() bool {
			for i := range n {
				if countIn(out(i)) < want {
					return false
				}
			}
			return true
		}
	}
	waitLong(t, fmt.Sprintf("the %d mailboxes' first messages", n), time.Minute, all(1))
	for i := range n {
		dc.Deliver(t, boxUser(i), message(n+i, "while running"))
	}
	waitLong(t, "the second messages", time.Minute, all(2))
	for i := range n {
		counts := deliveredCounts(t, out(i))
		for _, id := range []string{fmt.Sprintf("m%d", i), fmt.Sprintf("m%d", n+i)} {
			if counts[id] != 1 {
				t.Errorf("%s: %s delivered %d times", boxUser(i), id, counts[id])
			}
		}
		if len(counts) != 2 {
			t.Errorf("%s: delivered %v", boxUser(i), counts)
		}
	}
	text := log.String()
	for _, want := range []struct{ task, re string }{
		{"dead-server", `cannot receive.*connection refused`},
		// Dovecot ends a refused XOAUTH2 exchange with BAD (see the
		// dovecot package's doc.go); evmail names the refusal either way.
		{"refused", `cannot receive.*login as nobody@contoso.example.*refused the token`},
	} {
		if linesOf(text, want.task, want.re) == 0 {
			t.Errorf("the log has no line of %s.properties matching %s; its lines:\n%s", want.task, want.re,
				tail(linesMatching(text, " task="+want.task+".properties"), 3000))
		}
	}
	for _, d := range []string{"dead", "refused"} {
		if got := countIn(filepath.Join(r.Dir, d)); got != 0 {
			t.Errorf("%s delivered %d messages", d, got)
		}
	}
	if m := regexp.MustCompile(`(?i)Inotify instance limit.*exceeded`).FindString(dc.Log()); m != "" {
		t.Logf("Dovecot: %s: the IDLE sessions past the limit check every second instead", m)
	}
	if t.Failed() {
		t.Log(tail(text, 6000))
		t.Log(tail(dc.Log(), 4000))
	}
}

// linesMatching is the lines of log that hold s.
func linesMatching(log, s string) string {
	var b strings.Builder
	for line := range strings.Lines(log) {
		if strings.Contains(line, s) {
			b.WriteString(line)
		}
	}
	return b.String()
}
