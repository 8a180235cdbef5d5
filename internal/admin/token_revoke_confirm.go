package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// tokenRevokeConfirm asks before revoking, naming the task files that use
// the token (GET /tokens/{id}/revoke).
func (s *Server) tokenRevokeConfirm(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	s.askFirst(w, r, sess, t, revokeGuard(t), nil)
}
