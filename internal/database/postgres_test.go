package database

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/advice"

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

// Losing PostgreSQL is a temporary failure: while the server is down (and
// for a query it cuts off, and after it ended every session) errors are
// *UnavailableError and advice.Temporary; once it is back, the same *DB
// works again without being reopened.
func TestConnectionLossIsTemporary(t *testing.T) {
	srv := pgtest.NewServer(t)
	ctx := context.Background()
	url := srv.URL(t)
	db, err := Open(ctx, Options{Path: url, Key: GenerateKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	temporary := func(what string, err error) {
		t.Helper()
		var ue *UnavailableError
		if _, kind := advice.Of(err); err == nil || kind != advice.Temporary || !errors.As(err, &ue) {
			t.Errorf("%s: %v (kind %v), want an *UnavailableError, temporary", what, err, kind)
		}
	}
	works := func(what string) {
		t.Helper()
		for i := 0; ; i++ { // each pooled connection that died may fail once
			err := db.Ping(ctx)
			if err == nil {
				break
			}
			temporary(what+": a dead pooled connection", err)
			if i == 8 {
				t.Fatalf("%s: the store does not answer again: %v", what, err)
			}
		}
		if err := db.InTx(ctx, func(tx *sql.Tx) error {
			_, err := tx.ExecContext(ctx, `INSERT INTO notify_channels (channel) VALUES (?)`, what)
			return err
		}); err != nil {
			t.Fatalf("%s: a write: %v", what, err)
		}
	}
	works("at first")

	// A statement running when the server goes.
	slow := make(chan error, 1)
	go func() { _, err := db.ExecContext(ctx, `SELECT pg_sleep(30)`); slow <- err }()
	time.Sleep(300 * time.Millisecond)
	srv.Stop(t)
	temporary("a statement cut off", <-slow)
	temporary("ping while down", db.Ping(ctx))
	temporary("a transaction while down", db.InTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO notify_channels (channel) VALUES ('down')`)
		return err
	}))
	_, _, err = db.SchemaVersion(ctx)
	temporary("the schema version while down", err)
	srv.Start(t)
	works("after a restart")

	// Every session ended by an administrator (pg_terminate_backend).
	for range 3 {
		db.Ping(ctx) // a few pooled connections
	}
	admin, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer admin.Close()
	if _, err := admin.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`); err != nil {
		t.Fatal(err)
	}
	works("after the sessions were ended")
}
