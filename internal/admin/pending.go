package admin

import (
	"sync"
	"time"

	"mailtokens/internal/provider"
)

// pendingAuth is a started Get Email Token, waiting for the provider to
// send the browser back.
type pendingAuth struct {
	tokenID int64
	proof   provider.Proof // the PKCE verifier and the OpenID nonce, to check the answer
	session string         // the CSRF token identifies the session that started it
}

// stateLifetime bounds how long a sign-in may take at the provider.
const stateLifetime = 10 * time.Minute

// oneUse keeps what one request starts and a later one finishes (an OAuth2
// state and its sign-in, a confirmation and its action) under a random
// key. A key is good once: take removes it, whatever the outcome; and only
// for the lifetime given. Kept in memory: a restart loses them, and the
// admin starts again.
type oneUse[T any] struct {
	lifetime time.Duration
	mu       sync.Mutex
	m        map[string]oneUseEntry[T]
}

type oneUseEntry[T any] struct {
	v       T
	expires time.Time
}

func newOneUse[T any](lifetime time.Duration) *oneUse[T] {
	return &oneUse[T]{lifetime: lifetime, m: map[string]oneUseEntry[T]{}}
}

func (p *oneUse[T]) put(key string, v T, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, e := range p.m {
		if now.After(e.expires) {
			delete(p.m, k)
		}
	}
	p.m[key] = oneUseEntry[T]{v, now.Add(p.lifetime)}
}

// take returns and forgets what key holds; ok is false for an unknown,
// used or expired key.
func (p *oneUse[T]) take(key string, now time.Time) (v T, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.m[key]
	delete(p.m, key)
	if !ok || now.After(e.expires) {
		return v, false
	}
	return e.v, true
}
