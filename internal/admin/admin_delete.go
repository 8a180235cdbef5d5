package admin

import (
	"errors"
	"net/http"

	"mailtokens/internal/admin/accounts"
)

// adminDelete deletes an admin account and ends its sessions
// (POST /admins/{id}/delete); the last admin is refused. An admin deleting
// itself is logged out.
func (s *Server) adminDelete(w http.ResponseWriter, r *http.Request, sess *accounts.Session, a *accounts.Admin) {
	err := s.accounts.Delete(r.Context(), a.Name, accounts.AdminActor(sess.Admin.Name))
	switch {
	case errors.Is(err, accounts.ErrLastAdmin):
		s.flashBad(sess, "The last admin cannot be deleted.", "Create another admin first: evadmin admin passwd NAME")
		seeOther(w, r, "/admins")
		return
	case err != nil:
		s.log.Error("delete admin", "name", a.Name, "admin", sess.Admin.Name, "err", err)
		s.flashBad(sess, "Deleting admin "+a.Name+" failed.", err.Error())
		seeOther(w, r, "/admins")
		return
	}
	s.log.Info("admin account deleted", "name", a.Name, "admin", sess.Admin.Name)
	if a.ID == sess.Admin.ID {
		s.clearSessionCookie(w)
		seeOther(w, r, "/login")
		return
	}
	s.flashOK(sess, "Admin "+a.Name+" deleted.")
	seeOther(w, r, "/admins")
}
