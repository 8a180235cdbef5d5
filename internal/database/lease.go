package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"time"

	"mailtokens/internal/advice"
)

// Lease is the right of one process at a time to do a named job (receive
// one mailbox), held in the database so that it holds across processes and
// hosts. A holder that dies loses it when its time runs out; a live holder
// renews it well before.
type Lease struct {
	db   *DB
	name string
	ttl  time.Duration
	now  func() time.Time
}

// Lease returns the lease on name, held for ttl at a time.
func (d *DB) Lease(name string, ttl time.Duration) *Lease {
	return &Lease{db: d, name: name, ttl: ttl, now: time.Now}
}

// HeldError says another process holds the lease: Holder is its host and
// pid, for the log line of the process that waits.
type HeldError struct {
	Name   string
	Holder string
	Until  time.Time
}

func (e *HeldError) Error() string {
	return fmt.Sprintf("another process (%s) holds %q until %s", e.Holder, e.Name, e.Until.Format(time.TimeOnly))
}

// Advice: it passes by itself; two processes doing one job is usually a
// unit started twice.
func (e *HeldError) Advice() (string, advice.Kind) {
	return "Only one process at a time does this; this one waits. If both are meant to run, nothing needs doing; otherwise stop one of them.", advice.Temporary
}

// holder describes this process for others: host and pid.
func holder() string {
	host, _ := os.Hostname()
	return fmt.Sprintf("host %s, pid %d", host, os.Getpid())
}

// Acquire takes or renews the lease for ttl from now. It returns a
// *[HeldError] while another live process holds it.
func (l *Lease) Acquire(ctx context.Context) error {
	now := l.now()
	var held *HeldError
	err := l.db.InTx(ctx, func(tx *sql.Tx) error {
		var owner, who string
		var until int64
		err := tx.QueryRowContext(ctx, `SELECT owner, holder, until FROM leases WHERE name = ?`, l.name).Scan(&owner, &who, &until)
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return err
		case owner != l.db.owner && until > Millis(now) && !deadHere(owner):
			held = &HeldError{Name: l.name, Holder: who, Until: FromMillis(until)}
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO leases (name, owner, holder, until) VALUES (?, ?, ?, ?)
			ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, holder = excluded.holder, until = excluded.until`,
			l.name, l.db.owner, holder(), Millis(now.Add(l.ttl)))
		return err
	})
	if err != nil {
		return fmt.Errorf("take the lease on %s: %w", l.name, err)
	}
	if held != nil {
		return held
	}
	return nil
}

// Release gives the lease up, if this process holds it.
func (l *Lease) Release(ctx context.Context) error {
	_, err := l.db.ExecContext(context.WithoutCancel(ctx), `DELETE FROM leases WHERE name = ? AND owner = ?`, l.name, l.db.owner)
	return err
}

// Hold runs fn while holding the lease, renewing it every third of its
// time. When a renewal fails (another process took it after this one
// stalled, or the database is gone), fn's context is cancelled, so fn
// stops before two processes do the job at once. The lease is released
// when fn returns. Hold returns a *[HeldError] without running fn when
// another process holds the lease.
func (l *Lease) Hold(ctx context.Context, fn func(ctx context.Context) error) error {
	if err := l.Acquire(ctx); err != nil {
		return err
	}
	defer l.Release(ctx)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	defer close(done)
	go func() {
		t := time.NewTicker(l.ttl / 3)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if err := l.Acquire(ctx); err != nil {
					cancel(fmt.Errorf("lost the lease on %s: %w", l.name, err))
					return
				}
			}
		}
	}()
	err := fn(ctx)
	if cause := context.Cause(ctx); err != nil && cause != nil && cause != ctx.Err() {
		return cause
	}
	return err
}
