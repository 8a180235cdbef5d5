package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// tokenDefault makes the token the default, used by task files that name
// no token (POST /tokens/{id}/default).
func (s *Server) tokenDefault(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if err := s.store.SetDefault(r.Context(), t.Name, actor(sess)); err != nil {
		s.flashBad(sess, "Could not make "+t.Name+" the default.", err.Error())
	} else {
		s.flashOK(sess, t.Name+" is now the default token.")
	}
	seeOther(w, r, tokenURL(t))
}
