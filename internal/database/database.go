// Package database owns the one SQLite database that evadmin, evmail and
// batchmail share: opening it (several processes at once), its schema and
// migrations, the encryption key and sealing of secret columns, and the
// identity a process uses in leases. The stores built on it — tokens
// (internal/tokenstore), admin accounts and sessions (internal/admin),
// evmail's delivery ledger (internal/mailin) — each keep to their own
// tables. It is the one place a second SQL engine will plug in.
package database

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/mattn/go-sqlite3" // the SQLite driver

	"mailtokens/internal/advice"
)

// Options configure Open.
type Options struct {
	// Path is TOKEN_STORE: a SQLite file (its directory is created if
	// missing), or a postgres:// or postgresql:// URL for PostgreSQL 14 or
	// newer, without the password (see PasswordFile).
	Path string
	// PasswordFile holds the PostgreSQL password (TOKEN_STORE_PASSWORD_FILE);
	// without it, the standard PGPASSFILE (~/.pgpass) is used.
	PasswordFile string
	// KeyFile holds the encryption key (TOKEN_STORE_KEY_FILE). It is
	// created with mode 0600 when the store is new. The environment variable
	// MAILTOKENS_STORE_KEY, when set, is used instead.
	KeyFile string
	// Key, when set, is the key in text form and wins over both; for tests
	// and embedding.
	Key string
	// MustExist refuses to create the file: only evadmin creates a store
	// (serve, token add, admin passwd); a worker or a read-only command with
	// a mistyped TOKEN_STORE must not start an empty one with a new key.
	MustExist bool
}

// NotFoundError is a store file that does not exist where MustExist
// wanted one.
type NotFoundError struct{ Path string }

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("token store %s does not exist; nothing was created", e.Path)
}

// Advice: the path is wrong, or the store was never made.
func (e *NotFoundError) Advice() (string, advice.Kind) {
	return "Check TOKEN_STORE (a relative path is relative to the working directory). Only evadmin creates a store: evadmin serve, evadmin token add or evadmin admin passwd.", advice.Misconfigured
}

// DB is the open database: a *sql.DB with the store's key. It is safe for
// concurrent use, and several processes may open the same file.
type DB struct {
	*sql.DB
	engine   Engine
	key      *key
	path     string
	owner    string
	created  bool
	warnings []string
}

// Open opens (creating and migrating if needed) the database opt.Path
// names: a SQLite file or a PostgreSQL URL.
func Open(ctx context.Context, opt Options) (*DB, error) {
	if opt.Path == "" {
		return nil, errors.New("open token store: no path (TOKEN_STORE) given")
	}
	var d *DB
	var err error
	if EngineOf(opt.Path) == PostgreSQL {
		d, err = openPostgres(ctx, opt)
	} else {
		d, err = openSQLite(ctx, opt)
	}
	if err != nil {
		return nil, err
	}
	if err := d.loadKey(ctx, opt); err != nil {
		d.Close()
		return nil, fmt.Errorf("open token store %s: %w", d.path, err)
	}
	return d, nil
}

func openSQLite(ctx context.Context, opt Options) (*DB, error) {
	if strings.ContainsAny(opt.Path, "?#") {
		return nil, fmt.Errorf("open token store: path %q must not contain ? or #", opt.Path)
	}
	var created bool
	if opt.MustExist {
		if _, err := os.Stat(opt.Path); errors.Is(err, os.ErrNotExist) {
			return nil, &NotFoundError{Path: opt.Path}
		}
	} else {
		var err error
		if created, err = createPrivate(opt.Path); err != nil {
			return nil, fmt.Errorf("open token store %s: %w", opt.Path, err)
		}
	}
	// WAL lets workers read while another process writes; FULL sync makes a
	// committed (rotated) refresh token survive a power cut; immediate
	// transactions take the write lock up front, so two writers wait on the
	// busy timeout instead of failing with "database is locked".
	dsn := fmt.Sprintf("%s?_journal_mode=WAL&_busy_timeout=%d&_foreign_keys=on&_synchronous=FULL&_txlock=immediate",
		opt.Path, busyTimeout.Milliseconds())
	db, err := sql.Open("sqlite3", dsn)
	if err != nil {
		return nil, fmt.Errorf("open token store %s: %w", opt.Path, err)
	}
	db.SetMaxOpenConns(8)
	if err := connect(ctx, db); err != nil {
		db.Close()
		return nil, fmt.Errorf("open token store %s: %w", opt.Path, err)
	}
	d := &DB{DB: db, engine: SQLite, path: opt.Path, owner: newOwner(), created: created}
	if fi, err := os.Stat(opt.Path); err == nil && fi.Mode().Perm()&0o077 != 0 {
		// The secrets are sealed, but the file still tells who has which
		// tokens, and a copy made with `sqlite3 .backup` is 0644.
		d.warnings = append(d.warnings, fmt.Sprintf("token store %s can be read by other users (mode %04o): run chmod 600 %s", opt.Path, fi.Mode().Perm(), opt.Path))
	}
	if _, err := migrate(ctx, db, SQLite); err != nil {
		db.Close()
		return nil, fmt.Errorf("open token store %s: %w", opt.Path, err)
	}
	return d, nil
}

// busyTimeout is how long a statement waits for another process's lock.
const busyTimeout = 15 * time.Second

// connect makes the first connection. Connecting switches a new store to
// WAL, which needs the file to itself; when several processes start at once
// on a fresh store, SQLite refuses the switch to all but one at once
// (SQLITE_BUSY without waiting: they would deadlock), so it is tried again
// until the busy timeout has passed.
func connect(ctx context.Context, db *sql.DB) error {
	deadline := time.Now().Add(busyTimeout)
	for {
		err := db.PingContext(ctx)
		var se sqlite3.Error
		if err == nil || !errors.As(err, &se) || se.Code != sqlite3.ErrBusy || time.Now().After(deadline) {
			return err
		}
		t := time.NewTimer(10 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// Created reports whether Open created the file: a new store, which the
// program should say it made.
func (d *DB) Created() bool { return d.created }

// Warnings are what Open found worth saying but not refusing: a store
// file others can read.
func (d *DB) Warnings() []string { return d.warnings }

// Path is the database file.
func (d *DB) Path() string { return d.path }

// KeyID is a short fingerprint of the key in use; it reveals nothing about
// the key and tells keys apart in support conversations.
func (d *DB) KeyID() string { return d.key.id }

// Owner identifies this process (host, pid and a random part) in leases.
func (d *DB) Owner() string { return d.owner }

// Ping checks that the database answers.
func (d *DB) Ping(ctx context.Context) error {
	var one int
	return d.QueryRowContext(ctx, `SELECT 1`).Scan(&one)
}

// createMu keeps a store being opened in this process from seeing the file
// between createPrivate's create and close.
var createMu sync.Mutex

// createPrivate creates the database file (and its directory) readable by
// its owner only, before SQLite creates it with the umask's mode; SQLite
// gives the -wal and -shm files the database file's mode.
//
// An existing file is never opened here: SQLite's POSIX locks belong to the
// process, and closing any descriptor of the file would drop every lock this
// process holds on it through SQLite (another store open on the same file),
// after which an outside sqlite3 could delete the WAL under it. O_EXCL fails
// without a descriptor when the file exists.
func createPrivate(path string) (created bool, err error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return false, err
	}
	createMu.Lock()
	defer createMu.Unlock()
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	return true, f.Close()
}

const keyCheckPlain = "mailtokens key check"

// loadKey finds the key (option, environment, file) and proves it is the
// one the store was created with. A new store gets a new key file.
func (d *DB) loadKey(ctx context.Context, opt Options) error {
	var check []byte
	err := d.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&check)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return err
	}
	storeHasKey := err == nil

	var raw []byte
	source := ""
	switch {
	case opt.Key != "":
		source = "the configured key"
		raw, err = decodeKey(opt.Key)
	case os.Getenv(KeyEnv) != "":
		source = "$" + KeyEnv
		raw, err = decodeKey(os.Getenv(KeyEnv))
	case opt.KeyFile == "":
		return errors.New("no encryption key: set TOKEN_STORE_KEY_FILE or " + KeyEnv)
	default:
		source = "key file " + opt.KeyFile
		raw, err = readKeyFile(opt.KeyFile)
		if errors.Is(err, os.ErrNotExist) {
			if storeHasKey {
				return fmt.Errorf("key file %s is missing, but the store was encrypted with a key: restore the key file from your backup (without it the stored secrets cannot be read)", opt.KeyFile)
			}
			raw, err = createKeyFile(opt.KeyFile)
		}
	}
	if err != nil {
		if strings.HasPrefix(source, "key file") {
			return err
		}
		return fmt.Errorf("%s is not a mailtokens key (%v): it must hold 32 random bytes in base64", source, err)
	}
	k, err := newKey(raw)
	if err != nil {
		return err
	}
	d.key = k

	if storeHasKey {
		if plain, err := k.open(check, "meta/key_check"); err != nil || plain != keyCheckPlain {
			return fmt.Errorf("%s (id %s) is not the key this store was encrypted with: use the original key file", source, k.id)
		}
		return nil
	}
	// A new store: record the check. When another process did so first,
	// verify against its check instead.
	if _, err := d.ExecContext(ctx, `INSERT INTO meta (key, value) VALUES ('key_check', ?) ON CONFLICT (key) DO NOTHING`,
		k.seal(keyCheckPlain, "meta/key_check")); err != nil {
		return err
	}
	if err := d.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&check); err != nil {
		return err
	}
	if plain, err := k.open(check, "meta/key_check"); err != nil || plain != keyCheckPlain {
		return fmt.Errorf("%s (id %s) is not the key this store was encrypted with", source, k.id)
	}
	return nil
}

func newOwner() string {
	host, _ := os.Hostname()
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("%s/%d/%s", host, os.Getpid(), hex.EncodeToString(b))
}

// Millis is how times are stored: Unix milliseconds; 0 is "never".
func Millis(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixMilli()
}

// FromMillis reads a time Millis stored.
func FromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}

// InTx runs fn in one transaction, committed when fn returns nil. The
// write lock is taken at the start (immediate transactions), so two
// writers wait for each other instead of failing.
func (d *DB) InTx(ctx context.Context, fn func(*sql.Tx) error) error {
	if d.engine == PostgreSQL {
		return d.inSerializableTx(ctx, fn)
	}
	tx, err := d.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// IsUniqueViolation reports whether err is the engine's refusal of a row
// that would break a UNIQUE constraint: the dialect detail the stores need
// to say "that name is taken".
func IsUniqueViolation(err error) bool {
	var se sqlite3.Error
	return errors.As(err, &se) && se.ExtendedCode == sqlite3.ErrConstraintUnique || pgCode(err) == pgUniqueViolation
}

// SchemaVersion is the store's schema version (the number of migrations
// applied), and the version this program writes.
func (d *DB) SchemaVersion(ctx context.Context) (have, want int, err error) {
	q := `PRAGMA user_version`
	if d.engine == PostgreSQL {
		q = `SELECT version FROM schema_version`
	}
	if err := d.QueryRowContext(ctx, q).Scan(&have); err != nil {
		return 0, len(migrations), fmt.Errorf("read the schema version: %w", err)
	}
	return have, len(migrations), nil
}

// CheckKey reads the store's key check again and opens it with the key in
// use: nil when the key is the store's.
func (d *DB) CheckKey(ctx context.Context) error {
	var check []byte
	if err := d.QueryRowContext(ctx, `SELECT value FROM meta WHERE key = 'key_check'`).Scan(&check); err != nil {
		return fmt.Errorf("read the key check: %w", err)
	}
	if plain, err := d.key.open(check, "meta/key_check"); err != nil || plain != keyCheckPlain {
		return &KeyMismatchError{ID: d.key.id}
	}
	return nil
}

// KeyMismatchError is a key that does not open the store: another host's,
// or a new one where the old was lost.
type KeyMismatchError struct{ ID string }

func (e *KeyMismatchError) Error() string {
	return fmt.Sprintf("key %s is not the key this store was encrypted with", e.ID)
}
