package admin

import (
	"crypto/subtle"
	"net/http"
)

type setupPage struct {
	Token string
	Name  string
	Error string
}

// setupAllowed reports whether the one-time setup link may be used: no
// admin exists yet and the link's token matches the one `evadmin serve`
// printed.
func (s *Server) setupAllowed(r *http.Request, token string) bool {
	if s.cfg.SetupToken == "" || subtle.ConstantTimeCompare([]byte(token), []byte(s.cfg.SetupToken)) != 1 {
		return false
	}
	n, err := s.store.AdminCount(r.Context())
	return err == nil && n == 0
}

// setupShow shows the form that creates the first admin (GET /setup).
func (s *Server) setupShow(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("token")
	if !s.setupAllowed(r, token) {
		s.renderError(w, r, http.StatusNotFound, "This setup link is not valid (any more): an admin account exists already, or the link is from an earlier start of evadmin. Log in, or create an admin with: evadmin admin passwd NAME")
		return
	}
	s.render(w, r, http.StatusOK, "setup", nil, "Create the first admin", setupPage{Token: token})
}
