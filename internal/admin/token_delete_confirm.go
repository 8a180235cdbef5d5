package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

type deletePage struct {
	Token tokenRow
	Tasks []tokenstore.TaskUse
}

// tokenDeleteConfirm asks before deleting, naming the task files that use
// the token (GET /tokens/{id}/delete).
func (s *Server) tokenDeleteConfirm(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	tasks, err := s.store.Tasks(r.Context(), t.Name)
	if err != nil {
		s.log.Error("read tasks", "token", t.Name, "err", err)
	}
	s.render(w, r, http.StatusOK, "delete", sess, "Delete "+t.Name+"?", deletePage{Token: s.row(r.Context(), t), Tasks: tasks})
}
