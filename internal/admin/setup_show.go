package admin

import "net/http"

type setupPage struct {
	Token string
	Name  string
	Error string
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
