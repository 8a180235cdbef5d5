package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"

	"mailtokens/internal/advice"
)

// Engine is the database behind a store.
type Engine string

// The engines.
const (
	SQLite     Engine = "SQLite"     // a file on this host: the default
	PostgreSQL Engine = "PostgreSQL" // one store for many hosts
)

// EngineOf tells which engine TOKEN_STORE names: a postgres:// or
// postgresql:// URL selects PostgreSQL, anything else is a SQLite file.
func EngineOf(store string) Engine {
	s := strings.ToLower(store)
	if strings.HasPrefix(s, "postgres://") || strings.HasPrefix(s, "postgresql://") {
		return PostgreSQL
	}
	return SQLite
}

// Engine is the store's engine.
func (d *DB) Engine() Engine { return d.engine }

// PasswordInURLError refuses a TOKEN_STORE URL that carries the password:
// properties files are read by people and copied into tickets.
type PasswordInURLError struct{ URL string }

func (e *PasswordInURLError) Error() string {
	return fmt.Sprintf("TOKEN_STORE %s contains the database password", e.URL)
}

// Advice: where the password goes instead.
func (e *PasswordInURLError) Advice() (string, advice.Kind) {
	return "Remove the password from the URL and put it in a file named by TOKEN_STORE_PASSWORD_FILE (mode 0600), or in PGPASSFILE (~/.pgpass).", advice.Misconfigured
}

// redact is u without its password, for messages.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "postgres://…"
	}
	if _, has := u.User.Password(); has {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	return u.String()
}

// openPostgres connects to the URL in opt.Path with pgx through
// database/sql; statements are rebound from ? to $n (rebind.go).
func openPostgres(ctx context.Context, opt Options) (*DB, error) {
	shown := redact(opt.Path)
	if u, err := url.Parse(opt.Path); err == nil {
		if _, has := u.User.Password(); has {
			return nil, &PasswordInURLError{URL: shown}
		}
	}
	cfg, err := pgx.ParseConfig(opt.Path)
	if err != nil {
		return nil, fmt.Errorf("open token store %s: %w", shown, err)
	}
	if opt.PasswordFile != "" {
		data, err := os.ReadFile(opt.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("open token store %s: TOKEN_STORE_PASSWORD_FILE: %w", shown, err)
		}
		cfg.Password = strings.TrimRight(string(data), "\r\n")
	}
	// Statements are prepared on a connection's first use of them and
	// kept: reading a token, the workers' most frequent statement, takes
	// 90 µs instead of 210 µs when the server need not parse and plan its
	// fifty columns again each time (BenchmarkHundredWorkers*). The cost
	// is one more round trip for each statement's first use on a
	// connection; a pooler in front of the server must keep prepared
	// statements (PgBouncer 1.21 or newer with max_prepared_statements, in
	// transaction mode). pgx drops a statement from the cache when it
	// fails, so a column changed by a newer version's migration costs one
	// failed statement, not a stuck worker.
	cfg.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	db := sql.OpenDB(rebindConnector{stdlib.GetConnector(*cfg)})
	db.SetMaxOpenConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	d := &DB{DB: db, engine: PostgreSQL, path: shown, owner: newOwner()}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open token store %s: %w", shown, err)
	}
	if opt.MustExist {
		var exists bool
		if err := db.QueryRowContext(ctx, `SELECT to_regclass('schema_version') IS NOT NULL`).Scan(&exists); err != nil {
			db.Close()
			return nil, fmt.Errorf("open token store %s: %w", shown, err)
		}
		if !exists {
			db.Close()
			return nil, &NotFoundError{Path: shown}
		}
	}
	if d.created, err = migrate(ctx, db, PostgreSQL); err != nil {
		db.Close()
		return nil, fmt.Errorf("open token store %s: %w", shown, err)
	}
	return d, nil
}

// PostgreSQL error codes the store acts on.
const (
	pgUniqueViolation      = "23505"
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
)

func pgCode(err error) string {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code
	}
	return ""
}

// inSerializableTx runs fn in a serializable transaction, again when
// PostgreSQL cancels it for a conflict with another: the transactions of
// every host then behave as SQLite's, one after the other.
func (d *DB) inSerializableTx(ctx context.Context, fn func(*sql.Tx) error) error {
	delay := 5 * time.Millisecond
	for attempt := 1; ; attempt++ {
		err := d.trySerializable(ctx, fn)
		code := pgCode(err)
		if (code != pgSerializationFailure && code != pgDeadlockDetected) || attempt == 20 {
			return err
		}
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return err
		}
		delay = min(delay*2, 200*time.Millisecond)
	}
}

func (d *DB) trySerializable(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelSerializable})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}
