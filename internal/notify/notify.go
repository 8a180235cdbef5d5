// Package notify tells admins when a token needs a person: it finds each
// token's problems (needs authorization; a task's logins failing for
// longer than a grace period; the client secret expiring within 30, 7 or 1
// days; a refresh token about to die), and delivers an [Event] through
// every configured [Channel] — email, a command, a webhook.
//
// Each problem is told when it opens and then at most once per 24 hours
// while it stays open (the client secret's 30/7/1-day stages once each,
// daily once expired), and once as solved when it has stayed cleared for
// [Config.SolvedAfter]. A problem that clears and comes back within that
// time is the same problem: nothing is sent. One that comes back after its
// "solved" message is told again only 24 hours after it was last told, so
// a problem flapping all day costs at most one message and one "solved"
// per day. The state lives in the database (notify_problems), so restarts
// and several evadmin processes (one checks at a time, under a lease) do
// not repeat messages.
//
// Nothing is lost silently: a channel that fails is logged with what to do,
// recorded for the token list ([Failures]), and retried with backoff (1
// minute doubling to an hour) until it delivers or a newer message for the
// same problem replaces the one it owes.
package notify

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/backoff"
	"mailtokens/internal/clock"
	"mailtokens/internal/database"
	"mailtokens/internal/logging"
	"mailtokens/internal/tokenstore"
)

// Defaults for Config fields left zero.
const (
	DefaultMailGrace   = 15 * time.Minute
	DefaultSolvedAfter = 10 * time.Minute
	DefaultInterval    = time.Minute
)

// Repeat is how long an open problem waits before it is told again.
const Repeat = 24 * time.Hour

// retry is the backoff of a channel that failed to deliver.
var retry = backoff.Backoff{Min: time.Minute, Max: time.Hour}

// Config is what a Notifier needs; Channels is required.
type Config struct {
	Channels []Channel
	// PublicURL is evadmin's PUBLIC_URL; the token's page is
	// PublicURL/tokens/ID.
	PublicURL string
	// MailGrace is how long a task's logins may fail before it is a
	// problem (NOTIFY_MAIL_GRACE).
	MailGrace time.Duration
	// SolvedAfter is how long a problem must stay cleared before "solved"
	// is sent, so that a flapping problem is not announced solved.
	SolvedAfter time.Duration
	// Clock decides; nil = the wall clock. Tests pass a clock.Fake.
	Clock clock.Clock
	Log   *slog.Logger
}

// Notifier checks the store's tokens and tells admins.
type Notifier struct {
	cfg   Config
	store *tokenstore.Store
	db    *database.DB
	log   *slog.Logger
	lease *database.Lease
}

// New returns a Notifier for the tokens in store.
func New(store *tokenstore.Store, cfg Config) (*Notifier, error) {
	if len(cfg.Channels) == 0 {
		return nil, errors.New("notify: no channel configured")
	}
	if cfg.MailGrace <= 0 {
		cfg.MailGrace = DefaultMailGrace
	}
	if cfg.SolvedAfter <= 0 {
		cfg.SolvedAfter = DefaultSolvedAfter
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	if cfg.Log == nil {
		cfg.Log = logging.Discard()
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	return &Notifier{cfg: cfg, store: store, db: store.DB(), log: cfg.Log,
		lease: store.DB().Lease("notify", 5*time.Minute)}, nil
}

// Run checks every interval (DefaultInterval when 0) until ctx ends.
// Failures are logged; Run goes on.
func (n *Notifier) Run(ctx context.Context, interval time.Duration) {
	if interval <= 0 {
		interval = DefaultInterval
	}
	names := make([]string, len(n.cfg.Channels))
	for i, c := range n.cfg.Channels {
		names[i] = c.Name()
	}
	n.log.Info("notifying admins of token problems", "channels", strings.Join(names, ", "), "every", interval.String())
	if err := n.forget(ctx); err != nil {
		n.log.Warn("could not drop the records of channels no longer configured", "err", err.Error())
	}
	for {
		if err := n.Check(ctx); err != nil && ctx.Err() == nil {
			var held *database.HeldError
			if errors.As(err, &held) {
				n.log.Debug("another evadmin checks the tokens for notifications", "err", err.Error())
			} else {
				n.log.Error("notifications: check failed", "err", err.Error())
			}
		}
		if !clock.Sleep(ctx, interval) {
			return
		}
	}
}

// Check looks at every token once: it opens, repeats and solves problems,
// then delivers what the channels owe. It returns a *database.HeldError
// when another process is checking.
func (n *Notifier) Check(ctx context.Context) error {
	return n.lease.Hold(ctx, func(ctx context.Context) error {
		if err := n.review(ctx); err != nil {
			return err
		}
		return n.deliver(ctx)
	})
}

// row is a problem's state (notify_problems).
type row struct {
	tokenID        int64
	problem, stage string
	summary        string
	opened, seen   time.Time
	cleared        time.Time // zero while open
	told           time.Time // when the last "problem" message was issued
	toldStage      string
	solved         time.Time // when "solved" was issued; zero if not since told
	message        string    // the JSON owed to pending
	pending        []string  // channels still owed message
	attempts       int
	retryAt        time.Time
	dirty, gone    bool
}

func (n *Notifier) review(ctx context.Context) error {
	now := n.cfg.Clock.Now()
	tokens, err := n.store.List(ctx)
	if err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	rows, err := n.load(ctx)
	if err != nil {
		return err
	}
	for _, t := range tokens {
		tasks, err := n.store.Tasks(ctx, t.Name)
		if err != nil {
			return fmt.Errorf("notifications: %w", err)
		}
		found := map[string]bool{}
		for _, p := range Find(t, tasks, now, n.cfg.MailGrace) {
			found[p.Kind] = true
			key := rowKey(t.ID, p.Kind)
			r := rows[key]
			if r == nil {
				r = &row{tokenID: t.ID, problem: p.Kind, opened: now}
				rows[key] = r
			}
			n.open(r, t, p, now)
		}
		for _, r := range rows {
			if r.tokenID == t.ID && !found[r.problem] {
				n.clear(r, t, now)
			}
		}
	}
	return n.save(ctx, rows)
}

func rowKey(id int64, problem string) string { return strconv.FormatInt(id, 10) + "/" + problem }

// open notes that p is (still) there and issues a "problem" message when
// one is due.
func (n *Notifier) open(r *row, t *tokenstore.Token, p Problem, now time.Time) {
	r.dirty, r.seen, r.stage, r.summary = true, now, p.Stage, p.Summary
	solvedSinceTold := !r.solved.IsZero()
	if !r.cleared.IsZero() {
		r.cleared = time.Time{}
		if solvedSinceTold {
			r.opened = now // back after "solved": a new episode
		}
	}
	due := r.told.IsZero() || p.Stage != r.toldStage ||
		(now.Sub(r.told) >= Repeat && (p.Daily || solvedSinceTold))
	if !due {
		return
	}
	since := p.Since
	if since.IsZero() || since.After(now) {
		since = r.opened
	}
	n.issue(r, n.event(EventProblem, t, p, since, now), now)
	r.told, r.toldStage, r.solved = now, p.Stage, time.Time{}
}

// clear notes that the problem is gone, and issues "solved" once it has
// stayed gone for SolvedAfter. A row with nothing left to do is dropped a
// day after it was last told, so that a problem coming back is still
// limited to a message a day.
func (n *Notifier) clear(r *row, t *tokenstore.Token, now time.Time) {
	if r.cleared.IsZero() {
		r.cleared, r.dirty = now, true
	}
	if !r.told.IsZero() && r.solved.IsZero() && now.Sub(r.cleared) >= n.cfg.SolvedAfter {
		var old Event
		json.Unmarshal([]byte(r.message), &old)
		kind := EventSolved
		p := Problem{Kind: r.problem, Stage: r.stage, Summary: r.summary,
			Detail: "Solved; the token's status now: " + statusWords(t) + "."}
		if t.Status == tokenstore.StatusRevoked {
			// The problem went because the token is off, not mended.
			kind = EventClosed
			p.Detail = "An admin revoked the token, so it is no longer watched. Its workers cannot log in until someone clicks Get Email Token on its page."
		}
		if old.Summary != "" {
			p.Summary = old.Summary
		}
		since, _ := time.Parse(time.RFC3339, old.Since)
		n.issue(r, n.event(kind, t, p, since, now), now)
		r.solved, r.dirty = now, true
	}
	if len(r.pending) == 0 && (r.told.IsZero() || !r.solved.IsZero()) && now.Sub(r.told) >= Repeat {
		r.gone = true
	}
}

func statusWords(t *tokenstore.Token) string {
	return strings.ReplaceAll(string(t.Status), "_", " ")
}

func (n *Notifier) event(kind string, t *tokenstore.Token, p Problem, since, now time.Time) *Event {
	return &Event{Event: kind, Token: t.Name, Email: t.Email, Problem: p.Kind, Stage: p.Stage,
		Summary: p.Summary, Detail: p.Detail, WhatToDo: p.WhatToDo,
		URL:   n.cfg.PublicURL + "/tokens/" + strconv.FormatInt(t.ID, 10),
		Since: stamp(since), At: stamp(now)}
}

// issue makes e the message every channel owes for r, replacing one not
// yet delivered.
func (n *Notifier) issue(r *row, e *Event, now time.Time) {
	doc, _ := json.Marshal(e)
	r.message, r.attempts, r.retryAt, r.dirty = string(doc), 0, now, true
	r.pending = r.pending[:0]
	for _, c := range n.cfg.Channels {
		r.pending = append(r.pending, c.Name())
	}
	n.log.Info("notifying admins", "event", e.Event, "token", e.Token, "problem", e.Problem, "summary", e.Summary)
}

// deliver sends what is owed and due, and records each channel's result.
func (n *Notifier) deliver(ctx context.Context) error {
	rows, err := n.load(ctx)
	if err != nil {
		return err
	}
	now := n.cfg.Clock.Now()
	for _, r := range rows {
		if len(r.pending) == 0 || r.retryAt.After(now) {
			continue
		}
		var e Event
		if err := json.Unmarshal([]byte(r.message), &e); err != nil {
			return fmt.Errorf("notifications: the stored message for token %d, %s: %w", r.tokenID, r.problem, err)
		}
		var left []string
		for _, c := range n.cfg.Channels {
			if !slices.Contains(r.pending, c.Name()) {
				continue
			}
			if err := c.Send(ctx, &e, []byte(r.message)); err != nil {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				left = append(left, c.Name())
				n.failed(ctx, c.Name(), &e, err, now)
				continue
			}
			n.log.Info("admins notified", "channel", c.Name(), "event", e.Event, "token", e.Token, "problem", e.Problem)
			n.record(ctx, c.Name(), nil, now)
		}
		r.pending, r.dirty = left, true
		if len(left) > 0 {
			r.attempts++
			r.retryAt = now.Add(retry.Delay(r.attempts))
		}
	}
	return n.save(ctx, rows)
}

func (n *Notifier) failed(ctx context.Context, channel string, e *Event, err error, now time.Time) {
	args := []any{"channel", channel, "event", e.Event, "token", e.Token, "problem", e.Problem, "err", err.Error()}
	if text, _ := advice.Of(err); text != "" {
		args = append(args, "what_to_do", text)
	}
	n.log.Error("could not notify admins; will retry", args...)
	n.record(ctx, channel, err, now)
}

// Test sends a test event through every channel and returns what failed,
// one error per channel.
func (n *Notifier) Test(ctx context.Context) error {
	now := n.cfg.Clock.Now()
	e := &Event{Event: EventTest, Token: "(test)", Problem: "test", Summary: "test notification",
		Detail: "Sent by `evadmin notify test` to check the NOTIFY_* settings.", URL: n.cfg.PublicURL + "/",
		Since: stamp(now), At: stamp(now)}
	doc, _ := json.Marshal(e)
	var errs []error
	for _, c := range n.cfg.Channels {
		err := c.Send(ctx, e, doc)
		n.record(ctx, c.Name(), err, now)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.Name(), err))
		}
	}
	return errors.Join(errs...)
}

func (n *Notifier) load(ctx context.Context) (map[string]*row, error) {
	rs, err := n.db.QueryContext(ctx, `SELECT token_id, problem, stage, summary, opened_at, seen_at, cleared_at,
		told_at, told_stage, solved_at, message, pending, attempts, retry_at FROM notify_problems`)
	if err != nil {
		return nil, fmt.Errorf("notifications: read the state: %w", err)
	}
	defer rs.Close()
	out := map[string]*row{}
	for rs.Next() {
		r := &row{}
		var opened, seen, cleared, told, solved, retryAt int64
		var pending string
		if err := rs.Scan(&r.tokenID, &r.problem, &r.stage, &r.summary, &opened, &seen, &cleared,
			&told, &r.toldStage, &solved, &r.message, &pending, &r.attempts, &retryAt); err != nil {
			return nil, fmt.Errorf("notifications: read the state: %w", err)
		}
		r.opened, r.seen, r.cleared = database.FromMillis(opened), database.FromMillis(seen), database.FromMillis(cleared)
		r.told, r.solved, r.retryAt = database.FromMillis(told), database.FromMillis(solved), database.FromMillis(retryAt)
		if pending != "" {
			r.pending = strings.Split(pending, ",")
		}
		out[rowKey(r.tokenID, r.problem)] = r
	}
	return out, rs.Err()
}

func (n *Notifier) save(ctx context.Context, rows map[string]*row) error {
	err := n.db.InTx(ctx, func(tx *sql.Tx) error {
		for _, r := range rows {
			switch {
			case r.gone:
				if _, err := tx.ExecContext(ctx, `DELETE FROM notify_problems WHERE token_id = ? AND problem = ?`, r.tokenID, r.problem); err != nil {
					return err
				}
			case r.dirty:
				// A token deleted meanwhile takes its rows with it (the
				// foreign key); INSERT ... SELECT writes nothing for it.
				_, err := tx.ExecContext(ctx, `INSERT INTO notify_problems (token_id, problem, stage, summary, opened_at, seen_at, cleared_at,
						told_at, told_stage, solved_at, message, pending, attempts, retry_at)
					SELECT id, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? FROM tokens WHERE id = ?
					ON CONFLICT (token_id, problem) DO UPDATE SET stage = excluded.stage, summary = excluded.summary,
						opened_at = excluded.opened_at, seen_at = excluded.seen_at, cleared_at = excluded.cleared_at,
						told_at = excluded.told_at, told_stage = excluded.told_stage, solved_at = excluded.solved_at,
						message = excluded.message, pending = excluded.pending, attempts = excluded.attempts, retry_at = excluded.retry_at`,
					r.problem, r.stage, r.summary, database.Millis(r.opened), database.Millis(r.seen), database.Millis(r.cleared),
					database.Millis(r.told), r.toldStage, database.Millis(r.solved), r.message, strings.Join(r.pending, ","),
					r.attempts, database.Millis(r.retryAt), r.tokenID)
				if err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("notifications: save the state: %w", err)
	}
	return nil
}
