package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/tokenstore"
)

// tokenEdit shows the form filled with a token's settings, its secret left
// out (GET /tokens/{id}/edit).
func (s *Server) tokenEdit(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	s.renderForm(w, r, sess, http.StatusOK, formPage{Form: form.FromToken(t), Editing: true,
		HasSecret: t.HasClientSecret, Action: tokenURL(t) + "/edit"})
}
