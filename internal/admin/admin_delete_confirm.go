package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
)

type adminDeletePage struct {
	Admin adminRow
}

// adminDeleteConfirm asks before deleting an admin account
// (GET /admins/{id}/delete).
func (s *Server) adminDeleteConfirm(w http.ResponseWriter, r *http.Request, sess *accounts.Session, a *accounts.Admin) {
	if n, err := s.accounts.AdminCount(r.Context()); err == nil && n <= 1 {
		s.flashBad(sess, "The last admin cannot be deleted.", "Create another admin first: evadmin admin passwd NAME")
		seeOther(w, r, "/admins")
		return
	}
	row := adminRow{Admin: *a, URL: adminURL(a), Self: a.ID == sess.Admin.ID, Deletable: true}
	s.render(w, r, http.StatusOK, "admin_delete", sess, "Delete admin "+a.Name+"?", adminDeletePage{Admin: row})
}
