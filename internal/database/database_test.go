package database

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"mailtokens/internal/testenv"
)

// SQLite's POSIX locks belong to the process: closing any descriptor of
// the database file drops every lock the process holds on it. Opening a
// second store on the file in the same process must therefore not open
// and close the file by hand, or an outside sqlite3 (a backup, an admin
// looking) finds no lock, checkpoints and deletes the WAL under the open
// stores, and every later query says "database disk image is malformed".
func TestOutsideSQLiteBesideTwoStoresInOneProcess(t *testing.T) {
	sqlite := testenv.LookPath(t, "sqlite3", "apt-get install sqlite3")
	ctx := context.Background()
	dir := t.TempDir()
	opt := Options{Path: filepath.Join(dir, "tokens.db"), Key: GenerateKey()}
	a, err := Open(ctx, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	put := func(db *DB, k string) {
		t.Helper()
		if _, err := db.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES (?, x'01')`, k); err != nil {
			t.Fatalf("write %s: %v", k, err)
		}
	}
	put(a, "a1")
	b, err := Open(ctx, opt) // the second store in this process
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	put(b, "b1")

	for _, args := range [][]string{{opt.Path, "SELECT count(*) FROM meta"}, {opt.Path, ".backup " + filepath.Join(dir, "copy.db")}} {
		if out, err := exec.Command(sqlite, args...).CombinedOutput(); err != nil {
			t.Fatalf("sqlite3 %q: %v\n%s", args, err, out)
		}
	}
	if _, err := os.Stat(opt.Path + "-wal"); err != nil {
		t.Errorf("the WAL of the open stores is gone after an outside sqlite3 ran: %v", err)
	}
	for i, db := range []*DB{a, b, a, b} {
		put(db, "after"+string(rune('0'+i)))
	}
	var n int
	var check string
	if err := b.QueryRowContext(ctx, `SELECT count(*) FROM meta WHERE key != 'key_check'`).Scan(&n); err != nil || n != 6 {
		t.Errorf("store b reads %d rows (%v), want 6", n, err)
	}
	if err := a.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check); err != nil || check != "ok" {
		t.Errorf("integrity check: %q %v", check, err)
	}
}

// A new store file is readable by its owner only, from the first byte.
func TestNewFileIsPrivate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "tokens.db")
	db, err := Open(context.Background(), Options{Path: path, Key: GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, p := range []string{path, path + "-wal"} {
		if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v %v, want mode 0600", p, fi.Mode(), err)
		}
	}
}

// A store file others can read (a `sqlite3 .backup` copy is 0644) is
// opened, with a warning that says how to fix it.
func TestReadableStoreIsWarnedAbout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tokens.db")
	opt := Options{Path: path, Key: GenerateKey()}
	db, err := Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	if w := db.Warnings(); len(w) != 0 {
		t.Errorf("a new store warns: %q", w)
	}
	db.Close()
	os.Chmod(path, 0o644)
	db, err = Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if w := db.Warnings(); len(w) != 1 || !strings.Contains(w[0], "can be read by other users (mode 0644): run chmod 600") {
		t.Errorf("warnings: %q", w)
	}
}
