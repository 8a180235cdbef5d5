package admin

import "net/http"

type loginPage struct {
	Next    string
	Name    string
	Error   string
	NoAdmin bool // no admin exists yet: say how to create one
}

// loginShow shows the login form (GET /login).
func (s *Server) loginShow(w http.ResponseWriter, r *http.Request) {
	if _, err := s.session(r); err == nil {
		seeOther(w, r, safeNext(r.URL.Query().Get("next")))
		return
	}
	n, _ := s.accounts.AdminCount(r.Context())
	s.render(w, r, http.StatusOK, "login", nil, "Log in", loginPage{Next: safeNext(r.URL.Query().Get("next")), NoAdmin: n == 0})
}
