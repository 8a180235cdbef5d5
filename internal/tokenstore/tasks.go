package tokenstore

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
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

	// Note is a standing warning the worker keeps on its task (messages
	// it leaves on the server), set at NoteAt; "" when there is none.
	Note   string
	NoteAt time.Time
}

// TaskStart is what a worker says of its task file when it starts.
type TaskStart struct {
	Actor     Actor  // the program
	Task      string // the task file's absolute path
	Server    string // the mail server, e.g. "IMAP outlook.office365.com:993"
	User      string // the mailbox it logs in to
	PollEvery time.Duration
}

// StartTask records at a worker's start that its task file uses the named
// token (the default token when name is empty), so the admin utility can
// name the task files a change would break and show how each task's
// logins go. The same task file (same program and host) is dropped from
// the tokens it used before: it points elsewhere now.
func (s *Store) StartTask(ctx context.Context, name string, ts TaskStart) error {
	host, _ := os.Hostname()
	now := database.Millis(s.now())
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		t, err := s.ref(ctx, tx, name)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM token_tasks WHERE actor = ? AND task = ? AND host = ? AND token_id <> ?`,
			string(ts.Actor), ts.Task, host, t.ID); err != nil {
			return err
		}
		// Tasks not heard of for forgetTasksAfter were retired.
		if _, err := tx.ExecContext(ctx, `DELETE FROM token_tasks WHERE last_seen_at < ?`,
			now-forgetTasksAfter.Milliseconds()); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO token_tasks (token_id, actor, task, host, pid, server, mail_user, poll_every,
			started_at, stopped_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)
			ON CONFLICT (token_id, actor, task, host) DO UPDATE SET pid = excluded.pid, server = excluded.server,
			mail_user = excluded.mail_user, poll_every = excluded.poll_every, started_at = excluded.started_at,
			stopped_at = 0, last_seen_at = excluded.last_seen_at`,
			t.ID, string(ts.Actor), ts.Task, host, os.Getpid(), ts.Server, ts.User, ts.PollEvery.Milliseconds(), now, now)
		return err
	})
	if err != nil {
		return fmt.Errorf("record task %s for token %q: %w", ts.Task, name, err)
	}
	s.forgetTask(name, ts.Actor, ts.Task)
	return nil
}

// forgetTasksAfter is how long a task that no longer reports stays listed.
const forgetTasksAfter = 90 * 24 * time.Hour

// StopTask records that the worker running a task stopped as asked.
func (s *Store) StopTask(ctx context.Context, name string, actor Actor, task string) error {
	now := database.Millis(s.now())
	if err := s.updateTask(ctx, name, actor, task, `stopped_at = ?, last_seen_at = ?`, now, now); err != nil {
		return fmt.Errorf("record the stop of task %s: %w", task, err)
	}
	return nil
}

// updateTask sets columns of this host's row of a task (set: "col = ?, …"
// with args).
func (s *Store) updateTask(ctx context.Context, name string, actor Actor, task, set string, args ...any) error {
	host, _ := os.Hostname()
	_, err := s.db.ExecContext(ctx, `UPDATE token_tasks SET `+set+`
		WHERE token_id = (SELECT id FROM tokens WHERE name = ?) AND actor = ? AND task = ? AND host = ?`,
		append(args, name, string(actor), task, host)...)
	return err
}

// markOf is this process's record of what it last wrote of a task, made
// on first use; seen says whether it existed. The caller holds useMu.
func (s *Store) markOf(name string, actor Actor, task string) (m *taskMark, seen bool) {
	key := taskKey(name, actor, task)
	if m, seen = s.taskSeen[key]; !seen {
		m = &taskMark{}
		s.taskSeen[key] = m
	}
	return m, seen
}

// Login is how one login to a mail server with a token went, as a worker
// reports it.
type Login struct {
	Server string // e.g. "IMAP outlook.office365.com:993"
	User   string // the mailbox
	// Failed: the server refused the login, or could not be reached or
	// talked to; Reply says how.
	Failed bool
	Reply  string // the server's reply, or what went wrong
}

// NoteTask sets the standing note of a task ("" clears it); written only
// when it changes.
func (s *Store) NoteTask(ctx context.Context, name string, actor Actor, task, note string) error {
	note = capText(note)
	s.useMu.Lock()
	m, _ := s.markOf(name, actor, task)
	now := s.now()
	// A standing note is written again daily, so its time says it still
	// stands.
	same := m.noteKnown && m.note == note && (note == "" || now.Sub(m.noteWritten) < 24*time.Hour)
	if !same {
		m.noteWritten = now
	}
	m.note, m.noteKnown = note, true
	s.useMu.Unlock()
	if same {
		return nil
	}
	if err := s.updateTask(ctx, name, actor, task, `note = ?, note_at = ?`, note, database.Millis(now)); err != nil {
		s.useMu.Lock()
		m.noteKnown = false
		s.useMu.Unlock()
		return fmt.Errorf("record the note of task %s: %w", task, err)
	}
	return nil
}

// taskMark is what this process last wrote of a task's logins, to keep
// writes down to state changes and one a minute.
type taskMark struct {
	written time.Time
	failed  bool   // the outcome last written
	reply   string // the reply last written
	pending int64  // failures not yet counted in the row

	note        string // the note last written
	noteKnown   bool   // note is what the row holds
	noteWritten time.Time
}

// taskWriteEvery is the least time between two writes of a task's row
// while nothing changes (a new outcome or reply is written at once).
const taskWriteEvery = time.Minute

func taskKey(name string, actor Actor, task string) string {
	return strings.ToLower(name) + "\x00" + string(actor) + "\x00" + task
}

func (s *Store) forgetTask(name string, actor Actor, task string) {
	s.useMu.Lock()
	delete(s.taskSeen, taskKey(name, actor, task))
	s.useMu.Unlock()
}

// loggedIn records a login's outcome in the task's row: throttled, but a
// change of outcome or of the server's reply is written at once. Every
// failure is counted.
func (s *Store) loggedIn(ctx context.Context, name string, actor Actor, task string, l Login) error {
	now := s.now()
	s.useMu.Lock()
	m, seen := s.markOf(name, actor, task)
	if l.Failed {
		m.pending++
	}
	l.Reply = capText(l.Reply)
	write := !seen || m.failed != l.Failed || (l.Failed && m.reply != l.Reply) || now.Sub(m.written) >= taskWriteEvery
	var pending int64
	if write {
		pending, m.pending = m.pending, 0
		m.written, m.failed, m.reply = now, l.Failed, l.Reply
	}
	s.useMu.Unlock()
	if !write {
		return nil
	}
	nowMs := database.Millis(now)
	set := `last_seen_at = ?, last_ok_at = ?, failing_since = 0, failures = failures + ?,
		server = ?, mail_user = ?, stopped_at = 0`
	args := []any{nowMs, nowMs, pending, l.Server, l.User}
	if l.Failed {
		set = `last_seen_at = ?, last_fail_at = ?,
			failing_since = CASE WHEN failing_since = 0 THEN ? ELSE failing_since END, failures = failures + ?,
			last_reply = ?, server = ?, mail_user = ?, stopped_at = 0`
		args = []any{nowMs, nowMs, nowMs, pending, l.Reply, l.Server, l.User}
	}
	if err := s.updateTask(ctx, name, actor, task, set, args...); err != nil {
		s.useMu.Lock()
		m.pending += pending
		m.written = time.Time{}
		s.useMu.Unlock()
		return fmt.Errorf("record the login of task %s: %w", task, err)
	}
	return nil
}

// alive records that the task's worker is running, at most once a
// minute: a task that sends nothing logs in to nothing.
func (s *Store) alive(ctx context.Context, name string, actor Actor, task string) error {
	now := s.now()
	s.useMu.Lock()
	m, _ := s.markOf(name, actor, task)
	write := now.Sub(m.written) >= taskWriteEvery
	if write {
		m.written = now
	}
	s.useMu.Unlock()
	if !write {
		return nil
	}
	if err := s.updateTask(ctx, name, actor, task, `last_seen_at = ?, stopped_at = 0`, database.Millis(now)); err != nil {
		return fmt.Errorf("record that task %s is running: %w", task, err)
	}
	return nil
}

// AllTasks lists the tasks of every token, by token id, most recent first.
func (s *Store) AllTasks(ctx context.Context) (map[int64][]TaskUse, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT token_id, `+taskColumns+` FROM token_tasks ORDER BY last_seen_at DESC`)
	if err != nil {
		return nil, fmt.Errorf("tasks of all tokens: %w", err)
	}
	defer rows.Close()
	out := map[int64][]TaskUse{}
	for rows.Next() {
		var id int64
		u, err := scanTask(prefixed{rows, &id})
		if err != nil {
			return nil, fmt.Errorf("tasks of all tokens: %w", err)
		}
		out[id] = append(out[id], u)
	}
	return out, rows.Err()
}

// prefixed scans a leading column into id, then the rest as r would.
type prefixed struct {
	r  rowScanner
	id *int64
}

func (p prefixed) Scan(dest ...any) error { return p.r.Scan(append([]any{p.id}, dest...)...) }

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
	last_ok_at, last_fail_at, failing_since, failures, last_reply, note, note_at`

func scanTask(r rowScanner) (TaskUse, error) {
	var u TaskUse
	var actor string
	var poll, started, stopped, seen, ok, fail, since, noteAt int64
	err := r.Scan(&actor, &u.Task, &u.Host, &u.PID, &u.Server, &u.User, &poll, &started, &stopped, &seen,
		&ok, &fail, &since, &u.Failures, &u.LastReply, &u.Note, &noteAt)
	if err != nil {
		return u, err
	}
	u.Actor, u.PollEvery = Actor(actor), time.Duration(poll)*time.Millisecond
	u.StartedAt, u.StoppedAt, u.LastSeen = database.FromMillis(started), database.FromMillis(stopped), database.FromMillis(seen)
	u.LastOK, u.LastFailure, u.FailingSince = database.FromMillis(ok), database.FromMillis(fail), database.FromMillis(since)
	u.NoteAt = database.FromMillis(noteAt)
	return u, nil
}
