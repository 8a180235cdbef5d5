package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// tokenDelete deletes the token (POST /tokens/{id}/delete) once confirmed
// (see askFirst). Its event log stays.
func (s *Server) tokenDelete(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if !s.confirmed(w, r, sess, t, deleteGuard(t)) {
		return
	}
	if err := s.store.Delete(r.Context(), t.Name, actor(sess)); err != nil {
		s.flashBad(sess, "Deleting "+t.Name+" failed.", err.Error())
		seeOther(w, r, tokenURL(t))
		return
	}
	s.log.Info("token deleted", "token", t.Name, "admin", sess.Admin.Name)
	s.flashOK(sess, "Token "+t.Name+" deleted.")
	seeOther(w, r, "/")
}
