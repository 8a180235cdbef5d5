package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/tokenstore"
)

// tokenUpdate saves an edited token (POST /tokens/{id}/edit). An empty
// secret field keeps the stored secret.
func (s *Server) tokenUpdate(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	f := form.ReadToken(r.PostForm)
	set, errs := f.Settings(!t.HasClientSecret && t.Type != "generic")
	if len(errs) == 0 {
		u, err := s.store.Update(r.Context(), t.Name, set, actor(sess))
		if err == nil {
			s.log.Info("token edited", "token", u.Name, "admin", sess.Admin.Name)
			s.flashOK(sess, "Token "+u.Name+" saved.")
			seeOther(w, r, tokenURL(u))
			return
		}
		if errs = storeErrors(err); errs == nil {
			s.log.Error("update token", "token", t.Name, "err", err)
			s.renderError(w, r, http.StatusInternalServerError, "The token could not be saved: "+err.Error())
			return
		}
	}
	s.renderForm(w, r, sess, http.StatusBadRequest, formPage{Form: f, Errors: errs, Editing: true,
		HasSecret: t.HasClientSecret, Action: tokenURL(t) + "/edit"})
}
