package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// accountShow says who signed in for the token and, when that is not its
// Email Address, offers the two ways on (GET /tokens/{id}/account): confirm
// that the account has access to the mailbox (a shared mailbox), or sign in
// again as the mailbox. Get Email Token and the device sign-in come here
// when the accounts differ.
func (s *Server) accountShow(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	row := s.row(r.Context(), t)
	var targets []string
	if row.AuthOrigin != "" {
		targets = append(targets, row.AuthOrigin)
	}
	s.render(w, r, http.StatusOK, "account", sess, "Who signed in for "+t.Name, row, targets...)
}
