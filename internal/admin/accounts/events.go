package accounts

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"mailtokens/internal/database"
	"mailtokens/internal/tokenstore"
)

// EventKind is what happened to an admin account.
type EventKind string

// The events the account log records.
const (
	EventCreated         EventKind = "created"
	EventPasswordChanged EventKind = "password_changed"
	EventDeleted         EventKind = "deleted"
	EventUnlocked        EventKind = "unlocked"
	EventLoggedIn        EventKind = "logged_in"
	EventLoggedOut       EventKind = "logged_out"
)

// Who acts on accounts besides a logged-in admin ([AdminActor]).
const (
	ActorCLI   = string(tokenstore.ActorCLI) // evadmin's command line
	ActorSetup = "setup link"                // the one-time setup link
)

// AdminActor is how the logs name a logged-in admin, as token events do.
func AdminActor(name string) string { return string(tokenstore.AdminUser(name)) }

// Event is one entry in the account log.
type Event struct {
	ID    int64
	At    time.Time
	Actor string // who acted: "admin:<name>", "cli", "setup link"
	Kind  EventKind
	Admin string // the account acted on
	Text  string
}

// Record adds an event to the account log.
func (s *Accounts) Record(ctx context.Context, actor string, kind EventKind, admin, text string) error {
	return record(ctx, s.db, database.Millis(s.now()), actor, kind, admin, text)
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func record(ctx context.Context, db execer, at int64, actor string, kind EventKind, admin, text string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO admin_events (at, actor, kind, admin, text) VALUES (?, ?, ?, ?, ?)`,
		at, actor, string(kind), admin, text)
	if err != nil {
		return fmt.Errorf("record %s event of admin %q: %w", kind, admin, err)
	}
	return nil
}

// Events returns the newest entries of the account log, newest first.
func (s *Accounts) Events(ctx context.Context, limit int) ([]Event, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, at, actor, kind, admin, text FROM admin_events ORDER BY id DESC LIMIT ?`, limit)
	if err != nil {
		return nil, fmt.Errorf("read admin events: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var kind string
		if err := rows.Scan(&e.ID, &at, &e.Actor, &kind, &e.Admin, &e.Text); err != nil {
			return nil, err
		}
		e.At, e.Kind = database.FromMillis(at), EventKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}
