package admin

import (
	"sync"
	"time"
)

// pendingAuth is a started Get Email Token, waiting for the provider to
// send the browser back.
type pendingAuth struct {
	tokenID  int64
	verifier string
	session  string // the CSRF token identifies the session that started it
	expires  time.Time
}

// stateLifetime bounds how long a sign-in may take at the provider.
const stateLifetime = 10 * time.Minute

// pendingAuths maps OAuth2 state values to started sign-ins. A state is
// used once: take removes it, whatever the outcome.
type pendingAuths struct {
	mu sync.Mutex
	m  map[string]pendingAuth
}

func newPendingAuths() *pendingAuths { return &pendingAuths{m: map[string]pendingAuth{}} }

func (p *pendingAuths) put(state string, a pendingAuth, now time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for k, v := range p.m {
		if now.After(v.expires) {
			delete(p.m, k)
		}
	}
	p.m[state] = a
}

// take returns and forgets the sign-in for state; ok is false for an
// unknown, used or expired state.
func (p *pendingAuths) take(state string, now time.Time) (pendingAuth, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	a, ok := p.m[state]
	delete(p.m, state)
	if !ok || now.After(a.expires) {
		return pendingAuth{}, false
	}
	return a, true
}
