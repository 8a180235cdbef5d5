// Package tokenstore keeps named OAuth2 tokens in the shared database
// (internal/database), secrets sealed, with an event log and the task files
// that use each token, and hands out access tokens that are valid for at
// least ten more minutes, refreshing them when needed. Several processes
// (the admin utility and every worker) share one store file; refreshes are
// coordinated through the database so that no refresh token is spent twice.
package tokenstore

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"mailtokens/internal/database"
)

// Options configure Open.
type Options struct {
	// Path is the SQLite file (TOKEN_STORE). Its directory is created if
	// missing.
	Path string
	// KeyFile holds the encryption key (TOKEN_STORE_KEY_FILE). It is
	// created with mode 0600 when the store is new. The environment variable
	// MAILTOKENS_STORE_KEY, when set, is used instead.
	KeyFile string
	// Key, when set, is the key in text form and wins over both; for tests
	// and embedding.
	Key string
	// MustExist refuses to create a new store (see database.Options).
	MustExist bool
	// PasswordFile holds PostgreSQL's password (see database.Options).
	PasswordFile string

	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// HTTPClient makes provider requests; nil means provider.DefaultHTTPClient.
	HTTPClient *http.Client
}

// Store is an open token store. It is safe for concurrent use, and several
// processes may open the same file.
type Store struct {
	db     *database.DB
	closes bool // Close closes db: Open opened it
	now    func() time.Time
	client *http.Client

	nameLocks sync.Map // lower-case name -> chan struct{}: one refresh per name per process
	useMu     sync.Mutex
	useSeen   map[string]useMark   // throttles "used" writes
	taskSeen  map[string]*taskMark // throttles task rows' writes
}

// Open opens (creating and migrating if needed) the database at opt.Path
// and the token store in it.
func Open(ctx context.Context, opt Options) (*Store, error) {
	db, err := database.Open(ctx, database.Options{Path: opt.Path, KeyFile: opt.KeyFile, Key: opt.Key, MustExist: opt.MustExist,
		PasswordFile: opt.PasswordFile})
	if err != nil {
		return nil, err
	}
	s := New(db, opt)
	s.closes = true
	return s, nil
}

// New is the token store in an open database; opt's Path and keys are not
// used. Closing the store leaves db open.
func New(db *database.DB, opt Options) *Store {
	s := &Store{db: db, now: opt.Now, client: opt.HTTPClient, useSeen: make(map[string]useMark),
		taskSeen: make(map[string]*taskMark)}
	if s.now == nil {
		s.now = time.Now
	}
	return s
}

// Close closes the database if Open opened it.
func (s *Store) Close() error {
	if s.closes {
		return s.db.Close()
	}
	return nil
}

// Now is the store's clock (Options.Now).
func (s *Store) Now() time.Time { return s.now() }

// DB is the database the store lives in, which other stores share.
func (s *Store) DB() *database.DB { return s.db }

// Path is the store's file.
func (s *Store) Path() string { return s.db.Path() }

// KeyID is a short fingerprint of the key in use; it reveals nothing about
// the key and tells keys apart in support conversations.
func (s *Store) KeyID() string { return s.db.KeyID() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.db.Ping(ctx) }

// columnAD is the associated data for a secret column of a token row.
func columnAD(id int64, column string) string {
	return fmt.Sprintf("mailtokens/v1/tokens/%d/%s", id, column)
}
