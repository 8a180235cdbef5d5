package admin

import (
	"errors"
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// accountConfirm records the admin's word that the account that signed in
// has access to the token's mailbox (POST /tokens/{id}/account, field
// account: the account the page showed, so that a sign-in since then is
// not confirmed unseen).
func (s *Server) accountConfirm(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	account := r.PostFormValue("account")
	err := s.store.ConfirmAccount(r.Context(), t.Name, actor(sess), account)
	switch {
	case errors.Is(err, tokenstore.ErrAccountChanged):
		s.flashBad(sess, "Nothing was confirmed.", "Another sign-in happened since that page was shown: look at who signed in now.")
		seeOther(w, r, tokenURL(t)+"/account")
		return
	case err != nil:
		s.log.Error("confirm account", "token", t.Name, "err", err)
		s.flashBad(sess, "The confirmation could not be saved.", err.Error())
		seeOther(w, r, tokenURL(t)+"/account")
		return
	}
	s.log.Info("account confirmed", "token", t.Name, "account", t.SignedInAs, "admin", sess.Admin.Name)
	s.flashOK(sess, "Recorded: "+t.SignedInAs+" has access to "+t.Email+".")
	seeOther(w, r, tokenURL(t))
}
