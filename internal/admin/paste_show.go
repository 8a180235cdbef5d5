package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/tokenstore"
)

// pastePage is the paste form; pasteSave shows it again with errors.
type pastePage struct {
	Token  tokenRow
	Form   form.Paste
	Errors fielderr.List
}

// pasteShow shows the form for tokens obtained elsewhere (GET
// /tokens/{id}/paste) — the manual route for providers without a sign-in
// flow this utility can drive.
func (s *Server) pasteShow(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	s.render(w, r, http.StatusOK, "paste", sess, "Paste tokens for "+t.Name, pastePage{Token: s.row(r.Context(), t)})
}
