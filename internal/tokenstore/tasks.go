package tokenstore

import (
	"context"
	"fmt"
	"os"
	"time"

	"mailtokens/internal/database"
)

// TaskUse is a worker task file that uses a token, and how its logins to
// the mail server went: the mail side of the token's health.
type TaskUse struct {
	Actor     Actor  // the program: evmail, batchmail
	Task      string // the task file's path as the worker saw it
	Host      string
	PID       int
	Server    string // the mail server, e.g. "IMAP outlook.office365.com:993"
	User      string // the mailbox it logs in to
	PollEvery time.Duration
	StartedAt time.Time
	StoppedAt time.Time // zero while running (or when it died without saying)
	LastSeen  time.Time // its last report of any kind

	LastOK       time.Time // last successful login
	LastFailure  time.Time // last login the mail server refused or that failed
	FailingSince time.Time // first failure since the last success; zero when the last login succeeded
	Failures     int64     // failed logins, counted since the task first used the token
	LastReply    string    // the server's reply to the last failed login
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
	rows, err := s.db.QueryContext(ctx, `SELECT `+taskColumns+` FROM token_tasks
		WHERE token_id = ? ORDER BY last_seen_at DESC`, t.ID)
	if err != nil {
		return nil, fmt.Errorf("tasks of token %q: %w", t.Name, err)
	}
	defer rows.Close()
	var out []TaskUse
	for rows.Next() {
		u, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("tasks of token %q: %w", t.Name, err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

const taskColumns = `actor, task, host, pid, server, mail_user, poll_every, started_at, stopped_at, last_seen_at,
	last_ok_at, last_fail_at, failing_since, failures, last_reply`

func scanTask(r rowScanner) (TaskUse, error) {
	var u TaskUse
	var actor string
	var poll, started, stopped, seen, ok, fail, since int64
	err := r.Scan(&actor, &u.Task, &u.Host, &u.PID, &u.Server, &u.User, &poll, &started, &stopped, &seen,
		&ok, &fail, &since, &u.Failures, &u.LastReply)
	if err != nil {
		return u, err
	}
	u.Actor, u.PollEvery = Actor(actor), time.Duration(poll)*time.Millisecond
	u.StartedAt, u.StoppedAt, u.LastSeen = database.FromMillis(started), database.FromMillis(stopped), database.FromMillis(seen)
	u.LastOK, u.LastFailure, u.FailingSince = database.FromMillis(ok), database.FromMillis(fail), database.FromMillis(since)
	return u, nil
}
