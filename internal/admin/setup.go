package admin

import (
	"crypto/subtle"
	"net/http"
)

// setupAllowed reports whether the one-time setup link may be used: no
// admin exists yet and the link's token matches the one `evadmin serve`
// printed.
func (s *Server) setupAllowed(r *http.Request, token string) bool {
	if s.cfg.SetupToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.SetupToken)) != 1 {
		return false
	}
	n, err := s.accounts.AdminCount(r.Context())
	return err == nil && n == 0
}
