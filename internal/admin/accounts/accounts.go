// Package accounts keeps evadmin's admin accounts (bcrypt password hashes)
// and their sessions in the shared database, in tables of their own.
package accounts

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"mailtokens/internal/database"
)

// Accounts are the admin accounts and sessions in a database.
type Accounts struct {
	db  *database.DB
	now func() time.Time
	// hashing bounds the password checks running at once: bcrypt is the
	// expensive part of a login, and guesses must not take every core.
	hashing         chan struct{}
	maxThrottleKeys int
}

// New is the accounts in db; now is the clock (nil: time.Now).
func New(db *database.DB, now func() time.Time) *Accounts {
	if now == nil {
		now = time.Now
	}
	return &Accounts{db: db, now: now, hashing: make(chan struct{}, runtime.NumCPU()), maxThrottleKeys: DefaultMaxThrottleKeys}
}

// Admin is an account of the admin utility.
type Admin struct {
	ID          int64
	Name        string
	CreatedAt   time.Time
	LastLoginAt time.Time
}

// ErrBadLogin is returned for a wrong name or password, without saying
// which.
var ErrBadLogin = errors.New("wrong name or password")

// MinPasswordLength is the shortest admin password accepted.
const MinPasswordLength = 12

var adminNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)

// bcryptCost is bcrypt's work factor; a login takes about a quarter second
// at 12, which slows guessing without annoying people.
var bcryptCost = 12

// SetBcryptCostForTests lowers the hashing cost so tests that log in often
// stay fast. Never call it outside tests.
func SetBcryptCostForTests(cost int) { bcryptCost = cost }

// CheckAdminPassword says what is wrong with a new admin password, or nil.
func CheckAdminPassword(name, password string) error {
	switch {
	case utf8.RuneCountInString(password) < MinPasswordLength:
		return fmt.Errorf("the password must have at least %d characters", MinPasswordLength)
	case len(password) > 72:
		// bcrypt looks at 72 bytes only; refuse rather than silently ignore the rest.
		return errors.New("the password must be at most 72 bytes")
	case strings.EqualFold(password, name):
		return errors.New("the password must not be the account name")
	}
	return nil
}

// SetAdminPassword creates the admin, or changes its password, for the
// command line (the account log names "cli"). Changing a password ends the
// admin's sessions.
func (s *Accounts) SetAdminPassword(ctx context.Context, name, password string) (created bool, err error) {
	return s.setPassword(ctx, name, password, ActorCLI, true)
}

// ChangeOwnPassword changes a logged-in admin's password (the caller has
// checked the current one) and ends all its sessions; [ErrNoAdmin] when
// the account was deleted meanwhile.
func (s *Accounts) ChangeOwnPassword(ctx context.Context, name, password string) error {
	_, err := s.setPassword(ctx, name, password, AdminActor(name), false)
	return err
}

func (s *Accounts) setPassword(ctx context.Context, name, password, actor string, create bool) (created bool, err error) {
	hash, err := newHash(name, password)
	if err != nil {
		return false, err
	}
	now := database.Millis(s.now())
	err = s.db.InTx(ctx, func(tx *sql.Tx) error {
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM admins WHERE name = ?`, name).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) && !create {
			return ErrNoAdmin
		}
		if errors.Is(err, sql.ErrNoRows) {
			created = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO admins (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)`,
				name, string(hash), now, now); err != nil {
				return err
			}
			return record(ctx, tx, now, actor, EventCreated, name, "")
		}
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE admins SET password_hash = ?, updated_at = ? WHERE id = ?`, string(hash), now, id); err != nil {
			return err
		}
		if _, err = tx.ExecContext(ctx, `DELETE FROM sessions WHERE admin_id = ?`, id); err != nil {
			return err
		}
		return record(ctx, tx, now, actor, EventPasswordChanged, name, "sessions ended")
	})
	if err != nil {
		return false, fmt.Errorf("set password of admin %q: %w", name, err)
	}
	return created, nil
}

// newHash checks a new admin's name and password and hashes the password.
func newHash(name, password string) ([]byte, error) {
	if !ValidName(name) {
		return nil, fmt.Errorf("admin name %q: use letters, digits and . _ @ - (at most 64), starting with a letter or digit", name)
	}
	if err := CheckAdminPassword(name, password); err != nil {
		return nil, err
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcryptCost)
	if err != nil {
		return nil, fmt.Errorf("hash password: %w", err)
	}
	return hash, nil
}

// ErrNotFirst means an admin exists already: the one-time setup is over.
var ErrNotFirst = errors.New("an admin exists already")

// CreateFirstAdmin creates the first admin, in one transaction with the
// check that there is none, so that concurrent posts of the one-time setup
// link create one admin (or change nobody's password); the others get
// ErrNotFirst.
func (s *Accounts) CreateFirstAdmin(ctx context.Context, name, password string) error {
	hash, err := newHash(name, password)
	if err != nil {
		return err
	}
	now := database.Millis(s.now())
	return s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return ErrNotFirst
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO admins (name, password_hash, created_at, updated_at) VALUES (?, ?, ?, ?)`,
			name, string(hash), now, now); err != nil {
			return err
		}
		return record(ctx, tx, now, ActorSetup, EventCreated, name, "the first admin")
	})
}

// dummyHash makes a login with an unknown name cost as much as one with a
// wrong password, so timing does not tell which names exist.
// Computed on first use: workers never need it.
var dummyHash = sync.OnceValue(func() []byte {
	h, _ := bcrypt.GenerateFromPassword([]byte("mailtokens timing equaliser"), bcryptCost)
	return h
})

// CheckAdminLogin verifies a name and password; ErrBadLogin when wrong.
// It does not throttle: requests from outside go through [Accounts.Login].
func (s *Accounts) CheckAdminLogin(ctx context.Context, name, password string) (*Admin, error) {
	var a Admin
	var hash string
	var created, last int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, password_hash, created_at, last_login_at FROM admins WHERE name = ?`, name).
		Scan(&a.ID, &a.Name, &hash, &created, &last)
	if errors.Is(err, sql.ErrNoRows) {
		bcrypt.CompareHashAndPassword(dummyHash(), []byte(password))
		return nil, ErrBadLogin
	}
	if err != nil {
		return nil, fmt.Errorf("check login: %w", err)
	}
	if bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) != nil {
		return nil, ErrBadLogin
	}
	a.CreatedAt, a.LastLoginAt = database.FromMillis(created), database.FromMillis(last)
	if _, err := s.db.ExecContext(ctx, `UPDATE admins SET last_login_at = ? WHERE id = ?`, database.Millis(s.now()), a.ID); err != nil {
		return nil, fmt.Errorf("check login: %w", err)
	}
	return &a, nil
}

// ErrNoAdmin means no admin account has the name or id.
var ErrNoAdmin = errors.New("no such admin")

// ErrLastAdmin refuses deleting the only admin: nobody could log in.
var ErrLastAdmin = errors.New("the last admin cannot be deleted: create another one first (evadmin admin passwd NAME)")

// List returns the admin accounts by name.
func (s *Accounts) List(ctx context.Context) ([]Admin, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT id, name, created_at, last_login_at FROM admins ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list admins: %w", err)
	}
	defer rows.Close()
	var out []Admin
	for rows.Next() {
		var a Admin
		var created, last int64
		if err := rows.Scan(&a.ID, &a.Name, &created, &last); err != nil {
			return nil, err
		}
		a.CreatedAt, a.LastLoginAt = database.FromMillis(created), database.FromMillis(last)
		out = append(out, a)
	}
	return out, rows.Err()
}

// AdminByID returns one admin account; [ErrNoAdmin] when there is none.
func (s *Accounts) AdminByID(ctx context.Context, id int64) (*Admin, error) {
	var a Admin
	var created, last int64
	err := s.db.QueryRowContext(ctx, `SELECT id, name, created_at, last_login_at FROM admins WHERE id = ?`, id).
		Scan(&a.ID, &a.Name, &created, &last)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoAdmin
	}
	if err != nil {
		return nil, fmt.Errorf("read admin %d: %w", id, err)
	}
	a.CreatedAt, a.LastLoginAt = database.FromMillis(created), database.FromMillis(last)
	return &a, nil
}

// Delete deletes an admin account and its sessions, in one transaction
// with the check that another admin remains; errors [ErrNoAdmin],
// [ErrLastAdmin].
func (s *Accounts) Delete(ctx context.Context, name, actor string) error {
	now := database.Millis(s.now())
	err := s.db.InTx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n); err != nil {
			return err
		}
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id, name FROM admins WHERE name = ?`, name).Scan(&id, &name)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoAdmin
		}
		if err != nil {
			return err
		}
		if n <= 1 {
			return ErrLastAdmin
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM admins WHERE id = ?`, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM login_throttle WHERE name = ?`, name); err != nil {
			return err
		}
		return record(ctx, tx, now, actor, EventDeleted, name, "")
	})
	if err != nil {
		return fmt.Errorf("delete admin %q: %w", name, err)
	}
	return nil
}

// AdminCount is how many admin accounts exist; 0 means evadmin offers the
// one-time setup link.
func (s *Accounts) AdminCount(ctx context.Context) (int, error) {
	var n int
	err := s.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM admins`).Scan(&n)
	return n, err
}

// Session is a logged-in admin's session.
type Session struct {
	Admin     Admin
	CSRF      string // the token every state-changing form must carry
	CreatedAt time.Time
	LastSeen  time.Time
}

// Session lifetimes: a session ends after SessionIdle without requests, and
// after SessionMax whatever happens.
const (
	SessionIdle = 30 * time.Minute
	SessionMax  = 12 * time.Hour
	touchEvery  = time.Minute
)

// ErrNoSession means the cookie names no live session.
var ErrNoSession = errors.New("no session")

func randomToken() string {
	b := make([]byte, 32)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

func hashID(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// NewSession starts a session for a logged-in admin and returns the value
// for the cookie.
func (s *Accounts) NewSession(ctx context.Context, admin *Admin) (cookie string, sess *Session, err error) {
	cookie = randomToken()
	now := s.now()
	sess = &Session{Admin: *admin, CSRF: randomToken(), CreatedAt: now, LastSeen: now}
	_, err = s.db.ExecContext(ctx, `INSERT INTO sessions (id_hash, admin_id, csrf, created_at, last_seen_at) VALUES (?, ?, ?, ?, ?)`,
		hashID(cookie), admin.ID, sess.CSRF, database.Millis(now), database.Millis(now))
	if err != nil {
		return "", nil, fmt.Errorf("start session: %w", err)
	}
	// Old sessions of anyone are swept now and then; logins are rare enough.
	s.db.ExecContext(ctx, `DELETE FROM sessions WHERE last_seen_at < ? OR created_at < ?`,
		database.Millis(now.Add(-SessionIdle)), database.Millis(now.Add(-SessionMax)))
	return cookie, sess, nil
}

// Session returns the live session for a cookie value and notes the
// activity; ErrNoSession when it is unknown or expired.
func (s *Accounts) Session(ctx context.Context, cookie string) (*Session, error) {
	if cookie == "" {
		return nil, ErrNoSession
	}
	var sess Session
	var adminCreated, lastLogin, created, seen int64
	err := s.db.QueryRowContext(ctx, `SELECT a.id, a.name, a.created_at, a.last_login_at, s.csrf, s.created_at, s.last_seen_at
		FROM sessions s JOIN admins a ON a.id = s.admin_id WHERE s.id_hash = ?`, hashID(cookie)).
		Scan(&sess.Admin.ID, &sess.Admin.Name, &adminCreated, &lastLogin, &sess.CSRF, &created, &seen)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, ErrNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("read session: %w", err)
	}
	sess.Admin.CreatedAt, sess.Admin.LastLoginAt = database.FromMillis(adminCreated), database.FromMillis(lastLogin)
	sess.CreatedAt, sess.LastSeen = database.FromMillis(created), database.FromMillis(seen)
	now := s.now()
	if now.Sub(sess.LastSeen) > SessionIdle || now.Sub(sess.CreatedAt) > SessionMax {
		s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashID(cookie))
		return nil, ErrNoSession
	}
	if now.Sub(sess.LastSeen) >= touchEvery {
		if _, err := s.db.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id_hash = ?`, database.Millis(now), hashID(cookie)); err != nil {
			return nil, fmt.Errorf("touch session: %w", err)
		}
		sess.LastSeen = now
	}
	return &sess, nil
}

// EndSession logs a session out.
func (s *Accounts) EndSession(ctx context.Context, cookie string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM sessions WHERE id_hash = ?`, hashID(cookie))
	return err
}

// CSRFEqual compares a submitted CSRF token with the session's in constant
// time.
func (sess *Session) CSRFEqual(submitted string) bool {
	return submitted != "" && subtle.ConstantTimeCompare([]byte(submitted), []byte(sess.CSRF)) == 1
}
