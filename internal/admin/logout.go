package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
)

// logout ends the session (POST /logout).
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := s.accounts.EndSession(r.Context(), c.Value); err != nil {
			s.log.Error("end session", "err", err)
		}
	}
	s.clearSessionCookie(w)
	if err := s.accounts.Record(r.Context(), accounts.AdminActor(sess.Admin.Name), accounts.EventLoggedOut, sess.Admin.Name, ""); err != nil {
		s.log.Error("record logout", "err", err)
	}
	s.log.Info("admin logged out", "admin", sess.Admin.Name)
	seeOther(w, r, "/login")
}
