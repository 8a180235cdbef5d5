package accounts

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"mailtokens/internal/database"
)

// Login throttling counts failed logins per (name, address) in the
// database, so that every evadmin behind a load balancer and `evadmin admin
// unlock` see the same counts. Guessing one admin's password from one
// address slows that pair down only: other admins, and the same admin from
// elsewhere, log in as usual.
const (
	// FreeAttempts is how many wrong passwords in a row cost nothing.
	FreeAttempts = 3
	// FirstDelay is the wait after the free attempts; each further failure
	// doubles it, up to MaxDelay.
	FirstDelay = 5 * time.Second
	MaxDelay   = 15 * time.Minute
	// forgetAfter is how long a key is kept after its last failure.
	forgetAfter = 24 * time.Hour
	// DefaultMaxThrottleKeys bounds the throttle table: an attacker making
	// up names and addresses cannot grow it without end.
	DefaultMaxThrottleKeys = 10000
)

// ThrottledError means the attempt was refused unchecked: too many wrong
// passwords for this name from this address.
type ThrottledError struct {
	Wait time.Duration // until the next attempt is allowed
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("too many failed logins: try again in %v", e.Wait.Round(time.Second))
}

// ErrBadName means a login name breaks the admin-name rule; such names are
// neither checked nor counted.
var ErrBadName = errors.New("not an admin name")

// ValidName reports whether name keeps the admin-name rule: letters,
// digits and . _ @ -, at most 64, starting with a letter or digit.
func ValidName(name string) bool { return len(name) <= 64 && adminNameRE.MatchString(name) }

// delay is the wait after n failures in a row.
func delay(n int) time.Duration {
	if n < FreeAttempts {
		return 0
	}
	d := FirstDelay
	for i := FreeAttempts; i < n && d < MaxDelay; i++ {
		d *= 2
	}
	return min(d, MaxDelay)
}

// Login checks an admin's name and password, coming from address (the
// client as the web utility sees it). The attempt is counted as a failure
// before the password is hashed, so concurrent guesses cannot all get
// through; a right password clears the count. Errors: [ErrBadName],
// [*ThrottledError], [ErrBadLogin].
func (s *Accounts) Login(ctx context.Context, name, password, address string) (*Admin, error) {
	if !ValidName(name) {
		return nil, ErrBadName
	}
	if err := s.countAttempt(ctx, name, address); err != nil {
		return nil, err
	}
	select {
	case s.hashing <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	a, err := s.CheckAdminLogin(ctx, name, password)
	<-s.hashing
	if err != nil {
		return nil, err
	}
	if _, err := s.db.ExecContext(ctx, `DELETE FROM login_throttle WHERE name = ? AND address = ?`, name, address); err != nil {
		return nil, fmt.Errorf("clear failed logins of %q: %w", name, err)
	}
	if err := s.Record(ctx, AdminActor(a.Name), EventLoggedIn, a.Name, "from "+address); err != nil {
		return nil, err
	}
	return a, nil
}

// countAttempt counts an attempt for (name, address) as a failure, or
// refuses it with a *ThrottledError while the pair must wait.
func (s *Accounts) countAttempt(ctx context.Context, name, address string) error {
	now := s.now().Truncate(time.Millisecond) // as stored
	var wait time.Duration
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var failures int
		var until int64
		err := tx.QueryRowContext(ctx, `SELECT failures, until FROM login_throttle WHERE name = ? AND address = ?`, name, address).
			Scan(&failures, &until)
		fresh := errors.Is(err, sql.ErrNoRows)
		if err != nil && !fresh {
			return err
		}
		if until > database.Millis(now) {
			wait = database.FromMillis(until).Sub(now)
			return nil
		}
		failures++
		if _, err := tx.ExecContext(ctx, `INSERT INTO login_throttle (name, address, failures, last_at, until) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (name, address) DO UPDATE SET failures = excluded.failures, last_at = excluded.last_at, until = excluded.until`,
			name, address, failures, database.Millis(now), database.Millis(now.Add(delay(failures)))); err != nil {
			return err
		}
		if !fresh {
			return nil
		}
		// A new key: forget quiet ones, and keep within the cap by dropping
		// the keys with the fewest failures (a made-up name's), oldest first.
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE last_at < ? AND until < ?`,
			database.Millis(now.Add(-forgetAfter)), database.Millis(now)); err != nil {
			return err
		}
		var keys int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM login_throttle`).Scan(&keys); err != nil {
			return err
		}
		if excess := keys - s.maxThrottleKeys; excess > 0 {
			_, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE (name, address) IN (SELECT name, address
				FROM login_throttle ORDER BY failures, last_at LIMIT ?)`, excess)
			return err
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("count login of %q: %w", name, err)
	}
	if wait > 0 {
		return &ThrottledError{Wait: wait}
	}
	return nil
}

// Unlock forgets the failed logins of name from every address, and says
// from how many.
func (s *Accounts) Unlock(ctx context.Context, name, actor string) (addresses int64, err error) {
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE name = ?`, name)
		if err != nil {
			return err
		}
		if addresses, err = res.RowsAffected(); err != nil {
			return err
		}
		return record(ctx, tx, database.Millis(s.now()), actor, EventUnlocked, name, fmt.Sprintf("failed logins from %d address(es) forgotten", addresses))
	})
	if err != nil {
		return 0, fmt.Errorf("unlock admin %q: %w", name, err)
	}
	return addresses, nil
}
