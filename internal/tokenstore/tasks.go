package tokenstore

import (
	"context"
	"fmt"
	"os"
	"time"

	"mailtokens/internal/database"
)

// TaskUse is a worker task file that uses a token.
type TaskUse struct {
	Actor    Actor
	Task     string // the task file's path as the worker saw it
	Host     string
	LastSeen time.Time
}

// RecordTask notes at a worker's start that its task file uses the named
// token (the default token when name is empty), so the admin utility can
// name the task files a deletion would break.
func (s *Store) RecordTask(ctx context.Context, name string, actor Actor, task string) error {
	t, err := s.ref(ctx, s.db, name)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	_, err = s.db.ExecContext(ctx, `INSERT INTO token_tasks (token_id, actor, task, host, last_seen_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (token_id, actor, task, host) DO UPDATE SET last_seen_at = excluded.last_seen_at`,
		t.ID, string(actor), task, host, database.Millis(s.now()))
	if err != nil {
		return fmt.Errorf("record task %s for token %q: %w", task, t.Name, err)
	}
	return nil
}

// Tasks lists the task files known to use the named token, most recent first.
func (s *Store) Tasks(ctx context.Context, name string) ([]TaskUse, error) {
	t, err := s.ref(ctx, s.db, name)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.QueryContext(ctx, `SELECT actor, task, host, last_seen_at FROM token_tasks
		WHERE token_id = ? ORDER BY last_seen_at DESC`, t.ID)
	if err != nil {
		return nil, fmt.Errorf("tasks of token %q: %w", t.Name, err)
	}
	defer rows.Close()
	var out []TaskUse
	for rows.Next() {
		var u TaskUse
		var actor string
		var seen int64
		if err := rows.Scan(&actor, &u.Task, &u.Host, &seen); err != nil {
			return nil, err
		}
		u.Actor, u.LastSeen = Actor(actor), database.FromMillis(seen)
		out = append(out, u)
	}
	return out, rows.Err()
}
