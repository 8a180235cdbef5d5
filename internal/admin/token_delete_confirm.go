package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// tokenDeleteConfirm asks before deleting, naming the task files that use
// the token (GET /tokens/{id}/delete).
func (s *Server) tokenDeleteConfirm(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	s.askFirst(w, r, sess, t, deleteGuard(t), nil)
}
