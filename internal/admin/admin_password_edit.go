package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
)

type passwordPage struct {
	Error string
}

// adminPasswordEdit shows the form to change one's own password
// (GET /admins/password).
func (s *Server) adminPasswordEdit(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	s.render(w, r, http.StatusOK, "password", sess, "Change your password", passwordPage{})
}
