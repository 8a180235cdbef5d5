package worker

import (
	"context"
	"crypto/x509"
	"sync"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

// Shared is what the tasks of one process share: one open store (one
// connection pool, and one token source per token name, so that every
// task using a token waits for the same refresh) per TOKEN_STORE, one
// certificate pool per CA file, and a bound on simultaneous logins, so
// that a thousand tasks starting at once do not storm the provider or
// the mail server.
type Shared struct {
	logins chan struct{}

	mu     sync.Mutex
	stores map[taskconf.Store]*sharedStore
	roots  map[string]*x509.CertPool
}

type sharedStore struct {
	store *tokenstore.Store
	users int
}

// DefaultLogins is how many tasks of one process may be connecting and
// logging in at the same moment.
const DefaultLogins = 16

// NewShared returns a Shared allowing logins simultaneous logins (0 =
// DefaultLogins).
func NewShared(logins int) *Shared {
	if logins <= 0 {
		logins = DefaultLogins
	}
	return &Shared{logins: make(chan struct{}, logins), stores: map[taskconf.Store]*sharedStore{},
		roots: map[string]*x509.CertPool{}}
}

// Store opens the store the task file names, or shares the one already
// open; release gives it back, and the last release closes it.
func (sh *Shared) Store(ctx context.Context, cfg taskconf.Store) (s *tokenstore.Store, release func(), err error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	ss := sh.stores[cfg]
	if ss == nil {
		s, err := tokenstore.Open(ctx, tokenstore.Options{Path: cfg.Path, KeyFile: cfg.KeyFile,
			PasswordFile: cfg.PasswordFile, MustExist: true})
		if err != nil {
			return nil, nil, err
		}
		ss = &sharedStore{store: s}
		sh.stores[cfg] = ss
	}
	ss.users++
	var once sync.Once
	return ss.store, func() { once.Do(func() { sh.releaseStore(cfg, ss) }) }, nil
}

func (sh *Shared) releaseStore(cfg taskconf.Store, ss *sharedStore) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if ss.users--; ss.users == 0 {
		delete(sh.stores, cfg)
		ss.store.Close()
	}
}

// Roots is the certificate pool of a CA file (MAIL_SSL_CA_FILE), read
// once per process. A file that cannot be read is not remembered: the
// next task to start reads it again.
func (sh *Shared) Roots(file string) (*x509.CertPool, error) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if p := sh.roots[file]; p != nil {
		return p, nil
	}
	p, err := mailconn.RootsFromFile(file, false)
	if err != nil {
		return nil, err
	}
	sh.roots[file] = p
	return p, nil
}

// Login waits for a turn to connect and log in; release ends it, once
// the login is over (whether it succeeded or not).
func (sh *Shared) Login(ctx context.Context) (release func(), err error) {
	select {
	case sh.logins <- struct{}{}:
		var once sync.Once
		return func() { once.Do(func() { <-sh.logins }) }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
