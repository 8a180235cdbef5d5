package admin

import (
	"sync"

	"mailtokens/internal/admin/accounts"
)

// flash is a message shown once on the next page, after a redirect.
type flash struct {
	Level  string // ok, warn, bad
	Text   string
	Detail string
}

// flashes keeps each session's pending messages in memory: they live
// for one redirect, and a restart losing them loses nothing that matters.
type flashes struct {
	mu sync.Mutex
	m  map[string][]flash // session CSRF token (unique per session) -> messages
}

func newFlashes() *flashes { return &flashes{m: map[string][]flash{}} }

func (f *flashes) add(sess *accounts.Session, level, text, detail string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	const keep = 5
	list := append(f.m[sess.CSRF], flash{level, text, detail})
	if len(list) > keep {
		list = list[len(list)-keep:]
	}
	f.m[sess.CSRF] = list
}

func (f *flashes) take(sess *accounts.Session) []flash {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := f.m[sess.CSRF]
	delete(f.m, sess.CSRF)
	return out
}

func (s *Server) flashOK(sess *accounts.Session, text string) { s.flashes.add(sess, "ok", text, "") }
func (s *Server) flashBad(sess *accounts.Session, text, detail string) {
	s.flashes.add(sess, "bad", text, detail)
}
func (s *Server) flashWarn(sess *accounts.Session, text, detail string) {
	s.flashes.add(sess, "warn", text, detail)
}
