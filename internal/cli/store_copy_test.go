package cli

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/database"
	"mailtokens/internal/mailin"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/testenv/pgtest"
	"mailtokens/internal/tokenstore"
)

// copyWorld is a source store with something in every table, made
// through the stores' own code, and the properties that name it.
type copyWorld struct {
	*sandboxtest.Env
	src    *tokenstore.Store
	conf   string
	cookie string // an admin's session in the source
	gone   int64  // the id of a deleted token whose events stay
}

func newCopyWorld(t *testing.T, srcPath string) *copyWorld {
	t.Helper()
	e := sandboxtest.New(t)
	ctx := context.Background()
	st, err := tokenstore.Open(ctx, tokenstore.Options{Path: srcPath, KeyFile: e.KeyFile})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w := &copyWorld{Env: e, src: st}
	w.Authorize(t, st, "support", provider.Microsoft)
	w.Authorize(t, st, "gmail", provider.Google)
	gone := w.Authorize(t, st, "gone", provider.Microsoft)
	w.gone = gone.ID
	if err := st.Delete(ctx, "gone", tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	if err := st.SetDefault(ctx, "support", tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	if err := st.StartTask(ctx, "support", tokenstore.TaskStart{Actor: tokenstore.ActorEvmail, Task: "/etc/mailtokens/evmail/support.properties",
		Server: "IMAP outlook.office365.com:993", User: w.World.MSUser, PollEvery: time.Minute}); err != nil {
		t.Fatal(err)
	}
	if err := st.NoteTask(ctx, "support", tokenstore.ActorEvmail, "/etc/mailtokens/evmail/support.properties", "2 messages left on the server"); err != nil {
		t.Fatal(err)
	}

	acc := accounts.New(st.DB(), nil)
	if _, err := acc.SetAdminPassword(ctx, "alice", "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Login(ctx, "alice", "wrong", "192.0.2.7"); err == nil {
		t.Fatal("a wrong password logged in")
	}
	a, err := acc.Login(ctx, "alice", "correct horse", "192.0.2.8")
	if err != nil {
		t.Fatal(err)
	}
	if w.cookie, _, err = acc.NewSession(ctx, a); err != nil {
		t.Fatal(err)
	}

	ledger := mailin.NewLedger(st.DB())
	if err := ledger.SetMailboxState(ctx, "imap/support", mailin.MailboxState{UIDValidity: 7, LastUID: 42}); err != nil {
		t.Fatal(err)
	}
	if err := ledger.SetDelivery(ctx, "imap/support", mailin.Delivery{UID: "7:42", State: mailin.DeliveryDelivered, Location: "/var/lib/mailtokens/inbox/new/1.eml"}); err != nil {
		t.Fatal(err)
	}
	// The notifier's tables, written as it writes them (its own tests
	// cover how it does).
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO notify_problems (token_id, problem, opened_at, seen_at, summary) VALUES (?, 'refresh_idle', 1, 2, 'idle')`, w.tokenID(t, "gmail")); err != nil {
		t.Fatal(err)
	}
	if _, err := st.DB().ExecContext(ctx, `INSERT INTO notify_channels (channel, last_fail_at, failures, last_error) VALUES ('webhook', 5, 1, '503')`); err != nil {
		t.Fatal(err)
	}
	// A lease a running evmail holds: not copied.
	if err := st.DB().Lease("imap/support", time.Minute).Acquire(ctx); err != nil {
		t.Fatal(err)
	}

	w.conf = filepath.Join(e.Dir, "evadmin.properties")
	writeConf(t, w.conf, srcPath, e.KeyFile)
	return w
}

func writeConf(t *testing.T, path, store, keyFile string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nLOG_LEVEL = WARN\n", store, keyFile)), 0o600); err != nil {
		t.Fatal(err)
	}
}

func (w *copyWorld) tokenID(t *testing.T, name string) int64 {
	t.Helper()
	tok, err := w.src.Get(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return tok.ID
}

func evadmin(conf string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := Run(context.Background(), append([]string{"-conf", conf}, args...), strings.NewReader(""), &out, &errb)
	return code, out.String(), errb.String()
}

// `evadmin store copy` carries a store from SQLite into PostgreSQL and
// back: every token with its secrets (opened by the same key under the
// same ids), events, the admin with a working session and the failed
// login's throttle, the task rows, evmail's ledger and the notifier's
// rows, all read back through the stores' own code; leases stay behind,
// and new rows in the copy never take an id the source ever gave.
func TestStoreCopy(t *testing.T) {
	for _, dir := range []struct {
		name     string
		src, dst func(t testing.TB) string
	}{
		{"SQLite to PostgreSQL", sqlitePath, pgtest.URL},
		{"PostgreSQL to SQLite", pgtest.URL, sqlitePath},
	} {
		t.Run(dir.name, func(t *testing.T) {
			w := newCopyWorld(t, dir.src(t))
			to := dir.dst(t)
			code, out, errs := evadmin(w.conf, "store", "copy", "--to", to)
			if code != ExitOK {
				t.Fatalf("store copy: exit %d\n%s%s", code, out, errs)
			}
			t.Logf("store copy:\n%s", out)
			for _, want := range []string{"in one transaction", "tokens                2 rows", "events ", "admins                1 rows",
				"sessions              1 rows", "deliveries            1 rows", "leases              not copied",
				"the secrets of 2 token(s) open and match", "TOKEN_STORE = " + to, "evadmin store check"} {
				if !strings.Contains(out, want) {
					t.Errorf("the output lacks %q:\n%s", want, out)
				}
			}
			ctx := context.Background()
			dst, err := tokenstore.Open(ctx, tokenstore.Options{Path: to, KeyFile: w.KeyFile, MustExist: true})
			if err != nil {
				t.Fatal(err)
			}
			defer dst.Close()
			compareStores(t, w, dst)

			// The copy goes on numbering past every id the source gave.
			tok, err := dst.Create(ctx, tokenstore.Settings{Name: "new", Config: provider.Config{Type: provider.Google, ClientID: "c"}}, tokenstore.ActorCLI)
			if err != nil {
				t.Fatal(err)
			}
			if tok.ID <= w.gone {
				t.Errorf("a new token in the copy got id %d, not past the deleted token's %d (whose events it would take)", tok.ID, w.gone)
			}
		})
	}
}

func sqlitePath(t testing.TB) string { return filepath.Join(t.TempDir(), "tokens.db") }

// compareStores reads both stores through their own code and wants the
// same everywhere.
func compareStores(t *testing.T, w *copyWorld, dst *tokenstore.Store) {
	t.Helper()
	ctx := context.Background()
	src := w.src
	// Row for row, before anything below writes (a login, a session seen):
	// this covers what no store reads back whole (the throttle, the
	// notifier's rows).
	if err := database.SameRows(ctx, src.DB(), dst.DB()); err != nil {
		t.Error(err)
	}
	names, _ := src.Names(ctx)
	dnames, _ := dst.Names(ctx)
	if !reflect.DeepEqual(names, dnames) || len(names) != 2 {
		t.Fatalf("tokens %q, copied %q", names, dnames)
	}
	for _, name := range append(names, "") { // "" is the default token
		a, err := src.Get(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		b, err := dst.Get(ctx, name)
		if err != nil {
			t.Fatalf("the copy's token %q: %v", name, err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("token %q differs:\n%+v\n%+v", name, a, b)
		}
		if b.RefreshToken.IsZero() || b.ClientSecret.IsZero() {
			t.Errorf("token %q lost its secrets", name)
		}
		ea, _ := src.Events(ctx, name, 0)
		eb, _ := dst.Events(ctx, name, 0)
		if !reflect.DeepEqual(ea, eb) || len(ea) == 0 {
			t.Errorf("token %q's events: %d, copied %d", name, len(ea), len(eb))
		}
	}
	ta, _ := src.AllTasks(ctx)
	tb, _ := dst.AllTasks(ctx)
	if !reflect.DeepEqual(ta, tb) || len(ta) != 1 {
		t.Errorf("tasks %+v, copied %+v", ta, tb)
	}

	aa, ab := accounts.New(src.DB(), nil), accounts.New(dst.DB(), nil)
	la, _ := aa.List(ctx)
	lb, _ := ab.List(ctx)
	if !reflect.DeepEqual(la, lb) || len(la) != 1 {
		t.Errorf("admins %+v, copied %+v", la, lb)
	}
	if s, err := ab.Session(ctx, w.cookie); err != nil || s == nil {
		t.Errorf("the admin's session does not carry over: %v", err)
	}
	if _, err := ab.CheckAdminLogin(ctx, "ALICE", "correct horse"); err != nil {
		t.Errorf("the admin's password (and the name without regard to case) does not carry over: %v", err)
	}
	va, _ := aa.Events(ctx, 100)
	vb, _ := ab.Events(ctx, 100)
	if !reflect.DeepEqual(va, vb) || len(va) == 0 {
		t.Errorf("admin events %d, copied %d", len(va), len(vb))
	}

	ledger := mailin.NewLedger(dst.DB())
	if d, err := ledger.Delivery(ctx, "imap/support", "7:42"); err != nil || d.State != mailin.DeliveryDelivered {
		t.Errorf("the delivery ledger: %+v %v", d, err)
	}
	if m, err := ledger.MailboxState(ctx, "imap/support"); err != nil || m.LastUID != 42 || m.UIDValidity != 7 {
		t.Errorf("the mailbox state: %+v %v", m, err)
	}
	var leases int
	if err := dst.DB().QueryRowContext(ctx, `SELECT COUNT(*) FROM leases`).Scan(&leases); err != nil || leases != 0 {
		t.Errorf("leases in the copy: %d %v", leases, err)
	}
}

// A copy never merges: a target that holds anything is refused, and left
// as it was.
func TestStoreCopyRefusesANonEmptyTarget(t *testing.T) {
	w := newCopyWorld(t, sqlitePath(t))
	to := pgtest.URL(t)
	if code, out, errs := evadmin(w.conf, "store", "copy", "--to", to); code != ExitOK {
		t.Fatalf("first copy: exit %d\n%s%s", code, out, errs)
	}
	ctx := context.Background()
	if _, err := w.src.Create(ctx, tokenstore.Settings{Name: "later", Config: provider.Config{Type: provider.Google, ClientID: "c"}}, tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	code, out, errs := evadmin(w.conf, "store", "copy", "--to", to)
	if code != ExitFail || !strings.Contains(errs, "is not empty (meta has") && !strings.Contains(errs, "is not empty (tokens has 2 rows)") ||
		!strings.Contains(errs, "nothing was copied") || !strings.Contains(errs, "never merges") {
		t.Fatalf("a copy into a used store: exit %d\n%s%s", code, out, errs)
	}
	dst, err := tokenstore.Open(ctx, tokenstore.Options{Path: to, KeyFile: w.KeyFile, MustExist: true})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if names, _ := dst.Names(ctx); len(names) != 2 {
		t.Errorf("the refused target changed: %q", names)
	}
	// Onto itself: a usage error before anything is opened.
	if code, _, errs := evadmin(w.conf, "store", "copy", "--to", w.src.Path()); code != ExitUsage {
		t.Errorf("a copy onto itself: exit %d\n%s", code, errs)
	}
}

// With a key that is not the store's, nothing is copied and the target
// is not even created.
func TestStoreCopyRefusesAWrongKey(t *testing.T) {
	w := newCopyWorld(t, sqlitePath(t))
	other := filepath.Join(t.TempDir(), "other.key")
	if err := os.WriteFile(other, []byte(database.GenerateKey()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "evadmin.properties")
	writeConf(t, conf, w.src.Path(), other)
	to := pgtest.URL(t)
	code, out, errs := evadmin(conf, "store", "copy", "--to", to)
	if code != ExitFail || !strings.Contains(errs, "is not the key this store was encrypted with") {
		t.Fatalf("a copy with the wrong key: exit %d\n%s%s", code, out, errs)
	}
	db, err := sql.Open("pgx", to)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var made bool
	if err := db.QueryRow(`SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&made); err != nil || made {
		t.Errorf("the target got a schema (%v %v) from a refused copy", made, err)
	}

	// A target made with another key is refused too.
	toSQLite := sqlitePath(t)
	if other, err := database.Open(context.Background(), database.Options{Path: toSQLite, Key: database.GenerateKey()}); err != nil {
		t.Fatal(err)
	} else {
		other.Close()
	}
	code, out, errs = evadmin(w.conf, "store", "copy", "--to", toSQLite)
	if code != ExitFail || !strings.Contains(errs, "open the target") || !strings.Contains(errs, "is not the key this store was encrypted with") {
		t.Fatalf("a copy into a store with another key: exit %d\n%s%s", code, out, errs)
	}
}
