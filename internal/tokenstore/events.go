package tokenstore

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"mailtokens/internal/database"
)

// EventKind is what happened to a token.
type EventKind string

// The events a token's log records.
const (
	EventCreated            EventKind = "created"
	EventEdited             EventKind = "edited"
	EventAuthorized         EventKind = "authorized"
	EventRefreshed          EventKind = "refreshed"
	EventRefreshFailed      EventKind = "refresh_failed"
	EventNeedsAuthorization EventKind = "needs_authorization"
	EventRevoked            EventKind = "revoked"
	EventDeleted            EventKind = "deleted"
	EventUsed               EventKind = "used"
	EventDefaultSet         EventKind = "default_set"
	EventKeptAlive          EventKind = "kept_alive"        // refreshed by evadmin serve because no worker had for long
	EventSignInFailed       EventKind = "sign_in_failed"    // Get Email Token or the device flow failed (signin.go)
	EventAccountConfirmed   EventKind = "account_confirmed" // another account's access to the mailbox confirmed
	EventSignInCancelled    EventKind = "sign_in_cancelled" // an admin cancelled a device-code sign-in under way
)

// Event is one entry in a token's log.
type Event struct {
	ID        int64
	TokenID   int64
	TokenName string
	At        time.Time
	Actor     Actor
	Kind      EventKind
	Code      string // provider error code, for failures
	Text      string // details; never a secret
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// The event log is bounded: per token the newest keepEvents, and nothing
// older than keepEventsFor (a deleted token's log stays readable that
// long).
const (
	keepEvents     = 1000
	KeepEventsDays = 90
	keepEventsFor  = KeepEventsDays * 24 * time.Hour
)

// addEvent logs an event (its text capped) and drops what falls out of
// the bounds: the token's events beyond the newest keepEvents, and
// everyone's older than keepEventsFor. Both deletes walk an index.
func addEvent(ctx context.Context, db execer, tokenID int64, name string, at int64, actor Actor, kind EventKind, code, text string) error {
	_, err := db.ExecContext(ctx, `INSERT INTO events (token_id, token_name, at, actor, kind, code, text) VALUES (?, ?, ?, ?, ?, ?, ?)`,
		tokenID, name, at, string(actor), string(kind), capText(code), capText(text))
	if err != nil {
		return fmt.Errorf("record %s event: %w", kind, err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM events WHERE token_id = ? AND id <= (SELECT id FROM events
		WHERE token_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)`, tokenID, tokenID, keepEvents); err != nil {
		return fmt.Errorf("trim the event log of token #%d: %w", tokenID, err)
	}
	if _, err := db.ExecContext(ctx, `DELETE FROM events WHERE at < ?`,
		at-keepEventsFor.Milliseconds()); err != nil {
		return fmt.Errorf("drop events older than %d days: %w", keepEventsFor/(24*time.Hour), err)
	}
	return nil
}

// Events returns the newest events of the named token, newest first; with
// an empty name, the newest events of all tokens (deleted ones included).
func (s *Store) Events(ctx context.Context, name string, limit int) ([]Event, error) {
	if limit <= 0 {
		limit = 100
	}
	var rows *sql.Rows
	var err error
	if name == "" {
		rows, err = s.db.QueryContext(ctx, `SELECT id, token_id, token_name, at, actor, kind, code, text
			FROM events ORDER BY id DESC LIMIT ?`, limit)
	} else {
		var id int64
		if err := s.db.QueryRowContext(ctx, `SELECT id FROM tokens WHERE name = ?`, name).Scan(&id); err != nil {
			if err == sql.ErrNoRows {
				known, _ := s.Names(ctx)
				return nil, &NotFoundError{Name: name, Known: known}
			}
			return nil, fmt.Errorf("events of %q: %w", name, err)
		}
		rows, err = s.db.QueryContext(ctx, `SELECT id, token_id, token_name, at, actor, kind, code, text
			FROM events WHERE token_id = ? ORDER BY id DESC LIMIT ?`, id, limit)
	}
	if err != nil {
		return nil, fmt.Errorf("events of %q: %w", name, err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var actor, kind string
		if err := rows.Scan(&e.ID, &e.TokenID, &e.TokenName, &at, &actor, &kind, &e.Code, &e.Text); err != nil {
			return nil, err
		}
		e.At, e.Actor, e.Kind = database.FromMillis(at), Actor(actor), EventKind(kind)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Record adds an event to the named token's log.
func (s *Store) Record(ctx context.Context, name string, actor Actor, kind EventKind, text string) error {
	t, err := s.ref(ctx, s.db, name)
	if err != nil {
		return err
	}
	return addEvent(ctx, s.db, t.ID, t.Name, database.Millis(s.now()), actor, kind, "", text)
}
