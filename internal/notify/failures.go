package notify

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/database"
)

// Failure is a channel that has been failing to deliver since Since.
type Failure struct {
	Channel  string // "email", "command", "webhook"
	Since    time.Time
	LastAt   time.Time
	Failures int    // failed deliveries since the last success
	Error    string // the last one's
}

// maxErrorText caps a stored error (a webhook's body, a program's stderr).
const maxErrorText = 1000

// record notes a channel's result: err nil is a delivery.
func (n *Notifier) record(ctx context.Context, channel string, err error, now time.Time) {
	var dberr error
	if err == nil {
		_, dberr = n.db.ExecContext(ctx, `INSERT INTO notify_channels (channel, last_ok_at) VALUES (?, ?)
			ON CONFLICT (channel) DO UPDATE SET last_ok_at = excluded.last_ok_at, failing_since = 0, failures = 0`,
			channel, database.Millis(now))
	} else {
		text := err.Error()
		if len(text) > maxErrorText {
			text = strings.ToValidUTF8(text[:maxErrorText], "") + "…"
		}
		_, dberr = n.db.ExecContext(ctx, `INSERT INTO notify_channels (channel, last_fail_at, failing_since, failures, last_error)
			VALUES (?, ?, ?, 1, ?)
			ON CONFLICT (channel) DO UPDATE SET last_fail_at = excluded.last_fail_at, failures = notify_channels.failures + 1,
				last_error = excluded.last_error,
				failing_since = CASE WHEN notify_channels.failing_since = 0 THEN excluded.failing_since
					ELSE notify_channels.failing_since END`,
			channel, database.Millis(now), database.Millis(now), text)
	}
	if dberr != nil {
		n.log.Error("could not record a notification channel's result", "channel", channel, "err", dberr.Error())
	}
}

// Failures lists the channels that failed their last delivery, oldest
// failure first, for the token list. A channel that delivers again drops
// off.
func Failures(ctx context.Context, db *database.DB) ([]Failure, error) {
	rows, err := db.QueryContext(ctx, `SELECT channel, failing_since, last_fail_at, failures, last_error
		FROM notify_channels WHERE failing_since > 0 ORDER BY failing_since`)
	if err != nil {
		return nil, fmt.Errorf("notification failures: %w", err)
	}
	defer rows.Close()
	var out []Failure
	for rows.Next() {
		var f Failure
		var since, last int64
		if err := rows.Scan(&f.Channel, &since, &last, &f.Failures, &f.Error); err != nil {
			return nil, fmt.Errorf("notification failures: %w", err)
		}
		f.Since, f.LastAt = database.FromMillis(since), database.FromMillis(last)
		out = append(out, f)
	}
	return out, rows.Err()
}

// forget drops the records of channels no longer configured, so the list
// does not show a failure nobody can fix any more.
func (n *Notifier) forget(ctx context.Context) error {
	args := []any{}
	marks := ""
	for i, c := range n.cfg.Channels {
		if i > 0 {
			marks += ", "
		}
		marks += "?"
		args = append(args, c.Name())
	}
	if _, err := n.db.ExecContext(ctx, `DELETE FROM notify_channels WHERE channel NOT IN (`+marks+`)`, args...); err != nil {
		return fmt.Errorf("notifications: %w", err)
	}
	return nil
}
