package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// migrations is the ordered list of schema changes; migration i brings the
// schema to user_version i+1. Append only: a released migration never
// changes.
var migrations = []string{
	// 1: tokens, their event log, and store metadata (the key check).
	`
CREATE TABLE meta (
	key   TEXT PRIMARY KEY,
	value BLOB NOT NULL
);

CREATE TABLE tokens (
	id                INTEGER PRIMARY KEY AUTOINCREMENT,
	name              TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	type              TEXT    NOT NULL CHECK (type IN ('microsoft', 'google', 'generic')),
	email             TEXT    NOT NULL DEFAULT '',
	tenant            TEXT    NOT NULL DEFAULT '',
	client_id         TEXT    NOT NULL,
	client_secret     BLOB,
	scope             TEXT    NOT NULL DEFAULT '',
	auth_url          TEXT    NOT NULL DEFAULT '',
	token_url         TEXT    NOT NULL DEFAULT '',
	secret_expires_on INTEGER NOT NULL DEFAULT 0,
	is_default        INTEGER NOT NULL DEFAULT 0 CHECK (is_default IN (0, 1)),

	grant_kind        TEXT    NOT NULL DEFAULT '',
	access_token      BLOB,
	refresh_token     BLOB,
	access_expires_at INTEGER NOT NULL DEFAULT 0,
	access_issued_at  INTEGER NOT NULL DEFAULT 0,
	granted_scope     TEXT    NOT NULL DEFAULT '',
	authorized_at     INTEGER NOT NULL DEFAULT 0,
	refresh_issued_at INTEGER NOT NULL DEFAULT 0,
	refresh_used_at   INTEGER NOT NULL DEFAULT 0,

	status            TEXT    NOT NULL DEFAULT 'new'
	                  CHECK (status IN ('new', 'valid', 'refresh_failing', 'needs_authorization', 'revoked')),
	last_error_code   TEXT    NOT NULL DEFAULT '',
	last_error_text   TEXT    NOT NULL DEFAULT '',
	last_error_at     INTEGER NOT NULL DEFAULT 0,
	refresh_failures  INTEGER NOT NULL DEFAULT 0,
	next_refresh_at   INTEGER NOT NULL DEFAULT 0,

	generation        INTEGER NOT NULL DEFAULT 0,
	lease_owner       TEXT    NOT NULL DEFAULT '',
	lease_until       INTEGER NOT NULL DEFAULT 0,

	last_used_at      INTEGER NOT NULL DEFAULT 0,
	last_used_by      TEXT    NOT NULL DEFAULT '',
	created_at        INTEGER NOT NULL,
	updated_at        INTEGER NOT NULL
);

-- At most one default token.
CREATE UNIQUE INDEX tokens_one_default ON tokens (is_default) WHERE is_default = 1;

-- Events outlive their token (a "deleted" event must stay readable), so
-- token_id is not a foreign key and the name is kept beside it.
CREATE TABLE events (
	id         INTEGER PRIMARY KEY AUTOINCREMENT,
	token_id   INTEGER NOT NULL,
	token_name TEXT    NOT NULL,
	at         INTEGER NOT NULL,
	actor      TEXT    NOT NULL,
	kind       TEXT    NOT NULL,
	code       TEXT    NOT NULL DEFAULT '',
	text       TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX events_by_token ON events (token_id, id);
CREATE INDEX events_by_kind ON events (token_id, actor, kind, at);
`,
	// 2: evadmin's accounts and sessions, and which task files use which
	// token (named on the delete page).
	`
CREATE TABLE admins (
	id            INTEGER PRIMARY KEY AUTOINCREMENT,
	name          TEXT    NOT NULL COLLATE NOCASE UNIQUE,
	password_hash TEXT    NOT NULL,
	created_at    INTEGER NOT NULL,
	updated_at    INTEGER NOT NULL,
	last_login_at INTEGER NOT NULL DEFAULT 0
);

-- The cookie holds a random id; the table holds only its hash, so a copy of
-- the database does not log anyone in.
CREATE TABLE sessions (
	id_hash      BLOB    PRIMARY KEY,
	admin_id     INTEGER NOT NULL REFERENCES admins (id) ON DELETE CASCADE,
	csrf         TEXT    NOT NULL,
	created_at   INTEGER NOT NULL,
	last_seen_at INTEGER NOT NULL
);
CREATE INDEX sessions_by_admin ON sessions (admin_id);

CREATE TABLE token_tasks (
	token_id     INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
	actor        TEXT    NOT NULL,
	task         TEXT    NOT NULL,
	host         TEXT    NOT NULL,
	last_seen_at INTEGER NOT NULL,
	PRIMARY KEY (token_id, actor, task, host)
);

-- When the provider said how long the refresh token lives (Google "Testing").
ALTER TABLE tokens ADD COLUMN refresh_expires_at INTEGER NOT NULL DEFAULT 0;
`,
	// 3: evmail's per-mailbox state: what has been delivered, so a crash
	// leads to a recognised re-download, never a lost or doubled message.
	`
CREATE TABLE mailboxes (
	key         TEXT    PRIMARY KEY,
	uidvalidity INTEGER NOT NULL DEFAULT 0,
	last_uid    INTEGER NOT NULL DEFAULT 0,
	updated_at  INTEGER NOT NULL
);

CREATE TABLE deliveries (
	mailbox  TEXT    NOT NULL,
	uid      TEXT    NOT NULL,
	state    TEXT    NOT NULL CHECK (state IN ('pending', 'delivered')),
	location TEXT    NOT NULL,
	at       INTEGER NOT NULL,
	PRIMARY KEY (mailbox, uid)
);
`,
	// 4: leases: one holder at a time for a named job across processes and
	// hosts (one evmail per mailbox).
	`
CREATE TABLE leases (
	name   TEXT    PRIMARY KEY,
	owner  TEXT    NOT NULL,
	holder TEXT    NOT NULL,
	until  INTEGER NOT NULL
);
`,
	// 5: a mail server's refusal of a token the store thought valid forces
	// one refresh per episode, whatever the number of workers: when the last
	// such refresh was (0 after an admin acted), and the generation of the
	// token it produced (the episode lasts while the row keeps it).
	`
ALTER TABLE tokens ADD COLUMN rejection_refresh_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN rejection_generation INTEGER NOT NULL DEFAULT 0;
`,
	// 6: failed admin logins per (name, address): the wait before the next
	// attempt, shared by every evadmin process and cleared by
	// `evadmin admin unlock`.
	`
CREATE TABLE login_throttle (
	name     TEXT    NOT NULL COLLATE NOCASE,
	address  TEXT    NOT NULL,
	failures INTEGER NOT NULL,
	last_at  INTEGER NOT NULL,
	until    INTEGER NOT NULL,
	PRIMARY KEY (name, address)
);
CREATE INDEX login_throttle_eviction ON login_throttle (failures, last_at);
`,
	// 7: what was done to admin accounts, by whom (token actions are in
	// events already).
	`
CREATE TABLE admin_events (
	id    INTEGER PRIMARY KEY AUTOINCREMENT,
	at    INTEGER NOT NULL,
	actor TEXT    NOT NULL,
	kind  TEXT    NOT NULL,
	admin TEXT    NOT NULL,
	text  TEXT    NOT NULL DEFAULT ''
);
`,
	// 8: after a UIDVALIDITY change with SEEN, the UIDNEXT below which
	// \Seen messages were delivered under the old numbering.
	`
ALTER TABLE mailboxes ADD COLUMN seen_below INTEGER NOT NULL DEFAULT 0;
`,
	// 9: token health (issue 11). The last error keeps what it was: who
	// must act (advice kind), the HTTP status, and whether it came from a
	// refresh or a sign-in. The account that signed in, and the one an admin
	// confirmed has access to the token's mailbox. Each task's logins: the
	// mail side of a token's health.
	`
ALTER TABLE tokens ADD COLUMN last_error_kind TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN last_error_status INTEGER NOT NULL DEFAULT 0;
ALTER TABLE tokens ADD COLUMN last_error_op TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN signed_in_as TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN account_confirmed TEXT NOT NULL DEFAULT '';

ALTER TABLE token_tasks ADD COLUMN pid INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN server TEXT NOT NULL DEFAULT '';
ALTER TABLE token_tasks ADD COLUMN mail_user TEXT NOT NULL DEFAULT '';
ALTER TABLE token_tasks ADD COLUMN poll_every INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN started_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN stopped_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN last_ok_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN last_fail_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN failing_since INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN failures INTEGER NOT NULL DEFAULT 0;
ALTER TABLE token_tasks ADD COLUMN last_reply TEXT NOT NULL DEFAULT '';

CREATE INDEX events_by_at ON events (at);
`,
	// 10: admins are told about token problems (issue 11): one row per
	// open or lately solved problem of a token, with when it was last told
	// and the channels that still owe the message; one row per channel
	// (email, command, webhook) with its last success and failure, so the
	// list can say when notifications fail.
	`
CREATE TABLE notify_problems (
	token_id     INTEGER NOT NULL REFERENCES tokens (id) ON DELETE CASCADE,
	problem      TEXT    NOT NULL,
	stage        TEXT    NOT NULL DEFAULT '',
	summary      TEXT    NOT NULL DEFAULT '',
	opened_at    INTEGER NOT NULL,
	seen_at      INTEGER NOT NULL,
	cleared_at   INTEGER NOT NULL DEFAULT 0,
	told_at      INTEGER NOT NULL DEFAULT 0,
	told_stage   TEXT    NOT NULL DEFAULT '',
	solved_at    INTEGER NOT NULL DEFAULT 0,
	message      TEXT    NOT NULL DEFAULT '',
	pending      TEXT    NOT NULL DEFAULT '',
	attempts     INTEGER NOT NULL DEFAULT 0,
	retry_at     INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (token_id, problem)
);

CREATE TABLE notify_channels (
	channel       TEXT    PRIMARY KEY,
	last_ok_at    INTEGER NOT NULL DEFAULT 0,
	last_fail_at  INTEGER NOT NULL DEFAULT 0,
	failing_since INTEGER NOT NULL DEFAULT 0,
	failures      INTEGER NOT NULL DEFAULT 0,
	last_error    TEXT    NOT NULL DEFAULT ''
);
`,
	// 11: a standing note a worker keeps on its task, shown as a warning
	// on the token's page (evmail: messages left on the server for
	// MAILBOX_MAX_MESSAGE_SIZE).
	`
ALTER TABLE token_tasks ADD COLUMN note TEXT NOT NULL DEFAULT '';
ALTER TABLE token_tasks ADD COLUMN note_at INTEGER NOT NULL DEFAULT 0;
`,
	// 12: standard providers and app-only (issue 12): endpoints an admin
	// enters or discovery finds (device authorization, revocation,
	// userinfo, the issuer), how the client authenticates, extra
	// authorization parameters, Microsoft's national cloud, and a client
	// key (a certificate's private key, or a Google service account's JSON
	// key) sealed like the secret, with its expiry.
	`
ALTER TABLE tokens ADD COLUMN device_url TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN revoke_url TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN userinfo_url TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN issuer TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN client_auth TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN auth_params TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN cloud TEXT NOT NULL DEFAULT '';
ALTER TABLE tokens ADD COLUMN client_key BLOB;
ALTER TABLE tokens ADD COLUMN client_key_expires_on INTEGER NOT NULL DEFAULT 0;
`,
	// 13: evmail over Microsoft Graph keeps a folder's delta link: what
	// the next delta query starts from (issue 16).
	`
ALTER TABLE mailboxes ADD COLUMN delta_link TEXT NOT NULL DEFAULT '';
`,
}

// migrate brings the schema up to date. Several processes, on several
// hosts, may start at once: SQLite's immediate transaction and
// PostgreSQL's advisory lock serialise them, and each re-reads the version
// inside. It reports whether the store was empty (a new store).
func migrate(ctx context.Context, db *sql.DB, e Engine) (fresh bool, err error) {
	if e == PostgreSQL {
		return migratePostgres(ctx, db)
	}
	for first := true; ; first = false {
		version, done, err := migrateOne(ctx, db)
		if first {
			fresh = version == 0
		}
		if err != nil || done {
			return fresh, err
		}
	}
}

func migrateOne(ctx context.Context, db *sql.DB) (version int, done bool, err error) {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return 0, false, err
	}
	defer tx.Rollback()
	if err := tx.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&version); err != nil {
		return 0, false, err
	}
	if err := tooNew(version); err != nil {
		return version, false, err
	}
	if version == len(migrations) {
		return version, true, nil
	}
	if _, err := tx.ExecContext(ctx, migrations[version]); err != nil {
		return version, false, fmt.Errorf("migration %d: %w", version+1, err)
	}
	if _, err := tx.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, version+1)); err != nil {
		return version, false, err
	}
	return version, false, tx.Commit()
}

func tooNew(version int) error {
	if version > len(migrations) {
		return fmt.Errorf("the store has schema version %d, newer than this program knows (%d): use a newer mailtokens", version, len(migrations))
	}
	return nil
}

// pgMigrationLock is the advisory lock that serialises PostgreSQL
// migrations across hosts.
const pgMigrationLock = 0x6d61696c746f6b // "mailtok"

// migratePostgres creates the schema in one piece (pgBaseline) or brings
// it forward, in one transaction under an advisory lock.
func migratePostgres(ctx context.Context, db *sql.DB) (fresh bool, err error) {
	if len(migrations) != pgBaselineVersion+len(postgresMigrations) {
		return false, fmt.Errorf("internal error: %d SQLite migrations but PostgreSQL's end at %d", len(migrations), pgBaselineVersion+len(postgresMigrations))
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return false, err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(?)`, int64(pgMigrationLock)); err != nil {
		return false, err
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version BIGINT NOT NULL)`); err != nil {
		return false, err
	}
	version := 0
	switch err := tx.QueryRowContext(ctx, `SELECT version FROM schema_version`).Scan(&version); {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_version (version) VALUES (0)`); err != nil {
			return false, err
		}
	case err != nil:
		return false, err
	}
	if err := tooNew(version); err != nil {
		return false, err
	}
	fresh = version == 0
	if fresh {
		if _, err := tx.ExecContext(ctx, pgBaseline); err != nil {
			return false, fmt.Errorf("create the schema: %w", err)
		}
		version = pgBaselineVersion
	}
	for ; version < len(migrations); version++ {
		if _, err := tx.ExecContext(ctx, postgresMigrations[version-pgBaselineVersion]); err != nil {
			return false, fmt.Errorf("migration %d: %w", version+1, err)
		}
	}
	if _, err := tx.ExecContext(ctx, `UPDATE schema_version SET version = ?`, version); err != nil {
		return false, err
	}
	return fresh, tx.Commit()
}
