package database

import (
	"context"
	"path/filepath"
	"sync"
	"testing"

	"mailtokens/internal/testenv/pgtest"
)

// A PostgreSQL store: created with the whole schema once, even when
// several processes (here: connections) start at once; the key checked
// as with SQLite; names unique without regard to case.
func TestPostgresStore(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	keyFile := filepath.Join(t.TempDir(), "tokens.key")
	if _, err := Open(ctx, Options{Path: url, KeyFile: keyFile, MustExist: true}); err == nil {
		t.Fatal("MustExist opened an empty database")
	}
	var wg sync.WaitGroup
	dbs := make([]*DB, 4)
	errs := make([]error, 4)
	for i := range dbs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dbs[i], errs[i] = Open(ctx, Options{Path: url, KeyFile: keyFile})
		}()
	}
	wg.Wait()
	created := 0
	for i, err := range errs {
		if err != nil {
			t.Fatalf("open %d: %v", i, err)
		}
		defer dbs[i].Close()
		if dbs[i].Created() {
			created++
		}
		if dbs[i].Engine() != PostgreSQL {
			t.Fatalf("engine %s", dbs[i].Engine())
		}
	}
	if created != 1 {
		t.Fatalf("%d opens created the schema, want 1", created)
	}
	db := dbs[0]
	if _, err := db.ExecContext(ctx, `INSERT INTO admins (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		"Alice", "x", 1, 1); err != nil {
		t.Fatal(err)
	}
	_, err := db.ExecContext(ctx, `INSERT INTO admins (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)`,
		"alice", "y", 1, 1)
	if !IsUniqueViolation(err) {
		t.Fatalf("a name differing in case: %v, want a unique violation", err)
	}
	var n int
	if err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins WHERE name = ?`, "ALICE").Scan(&n); err != nil || n != 1 {
		t.Fatalf("case-insensitive lookup: %d %v", n, err)
	}
	if _, err := Open(ctx, Options{Path: url, Key: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}); err == nil {
		t.Fatal("another key opened the store")
	}
}
