package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
)

// tokenCreate adds a token (POST /tokens). Nothing is saved when any field
// is wrong; the form comes back with each error beside its field.
func (s *Server) tokenCreate(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	f := form.ReadToken(r.PostForm)
	if form.Discovering(r.PostForm) {
		s.tokenDiscover(w, r, sess, formPage{Form: f, Action: "/tokens"})
		return
	}
	set, errs := f.Settings(true)
	if len(errs) == 0 {
		t, err := s.store.Create(r.Context(), set, actor(sess))
		if err == nil {
			s.log.Info("token created", "token", t.Name, "type", t.Type, "admin", sess.Admin.Name)
			s.flashOK(sess, "Token "+t.Name+" added. Click Get Email Token to sign in with the mailbox account.")
			seeOther(w, r, "/")
			return
		}
		errs = storeErrors(err)
		if errs == nil {
			s.log.Error("create token", "err", err)
			s.renderError(w, r, http.StatusInternalServerError, "The token could not be saved: "+err.Error())
			return
		}
	}
	s.renderForm(w, r, sess, http.StatusBadRequest, formPage{Form: f, Errors: errs, Action: "/tokens"})
}
