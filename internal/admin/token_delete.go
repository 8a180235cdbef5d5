package admin

import (
	"net/http"

	"mailtokens/internal/tokenstore"
)

type deletePage struct {
	Token tokenRow
	Tasks []tokenstore.TaskUse
}

// deleteConfirm asks before deleting, naming the task files that use the
// token (GET /tokens/{id}/delete).
func (s *Server) deleteConfirm(w http.ResponseWriter, r *http.Request, sess *tokenstore.Session) {
	t := s.tokenFor(w, r)
	if t == nil {
		return
	}
	tasks, err := s.store.Tasks(r.Context(), t.Name)
	if err != nil {
		s.log.Error("read tasks", "token", t.Name, "err", err)
	}
	s.render(w, r, http.StatusOK, "delete", sess, "Delete "+t.Name+"?", deletePage{Token: s.row(t), Tasks: tasks})
}

// tokenDelete deletes the token (POST /tokens/{id}/delete). Its event log
// stays.
func (s *Server) tokenDelete(w http.ResponseWriter, r *http.Request, sess *tokenstore.Session) {
	t := s.tokenFor(w, r)
	if t == nil {
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
