package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/tokenstore"
)

// pasteSave stores pasted tokens (POST /tokens/{id}/paste). The pasted
// values are never shown again, not even when the form has errors.
func (s *Server) pasteSave(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	tok, errs := form.ReadPaste(r.PostForm).Token()
	if len(errs) > 0 {
		s.render(w, r, http.StatusBadRequest, "paste", sess, "Paste tokens for "+t.Name, pastePage{Token: s.row(r.Context(), t), Errors: errs})
		return
	}
	s.saveGrant(w, r, sess, t, tokenstore.GrantPasted, tok, "/")
}
