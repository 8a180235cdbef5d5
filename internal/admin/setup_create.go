package admin

import (
	"errors"
	"net/http"

	"mailtokens/internal/admin/accounts"
)

// setupCreate creates the first admin and logs it in (POST /setup).
func (s *Server) setupCreate(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	token := r.PostForm.Get("token")
	if !s.setupAllowed(r, token) {
		s.renderError(w, r, http.StatusNotFound, "This setup link is not valid (any more). Log in, or create an admin with: evadmin admin passwd NAME")
		return
	}
	name, pw, again := r.PostForm.Get("name"), r.PostForm.Get("password"), r.PostForm.Get("password_again")
	page := setupPage{Token: token, Name: name}
	if pw != again {
		page.Error = "The two passwords differ."
		s.render(w, r, http.StatusBadRequest, "setup", nil, "Create the first admin", page)
		return
	}
	err := s.accounts.CreateFirstAdmin(r.Context(), name, pw)
	if errors.Is(err, accounts.ErrNotFirst) {
		s.renderError(w, r, http.StatusNotFound, "This setup link is not valid (any more): an admin exists. Log in, or create an admin with: evadmin admin passwd NAME")
		return
	}
	if err != nil {
		page.Error = err.Error()
		s.render(w, r, http.StatusBadRequest, "setup", nil, "Create the first admin", page)
		return
	}
	admin, err := s.accounts.CheckAdminLogin(r.Context(), name, pw)
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "The admin was created but could not log in: "+err.Error())
		return
	}
	cookie, sess, err := s.accounts.NewSession(r.Context(), admin)
	if err != nil {
		s.renderError(w, r, http.StatusInternalServerError, "The admin was created; log in to continue.")
		return
	}
	s.setSessionCookie(w, cookie)
	s.log.Info("first admin created", "admin", admin.Name)
	s.flashOK(sess, "Welcome, "+admin.Name+". Add your first email token below.")
	seeOther(w, r, "/")
}
