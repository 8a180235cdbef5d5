package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/advice"
	"mailtokens/internal/tokenstore"
)

// tokenRevoke revokes the token at the provider where it can (Google) and
// forgets it here (POST /tokens/{id}/revoke), once confirmed (see
// askFirst).
func (s *Server) tokenRevoke(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if !s.confirmed(w, r, sess, t, revokeGuard(t)) {
		return
	}
	hint, err := s.store.Revoke(r.Context(), t.Name, actor(sess))
	if err != nil {
		s.flashBad(sess, "Revoking "+t.Name+" failed; nothing was changed.", advice.Explain(err))
	} else {
		s.log.Info("token revoked", "token", t.Name, "admin", sess.Admin.Name)
		s.flashWarn(sess, "Token "+t.Name+" revoked.", hint)
	}
	seeOther(w, r, tokenURL(t))
}
