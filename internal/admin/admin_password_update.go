package admin

import (
	"errors"
	"net/http"

	"mailtokens/internal/admin/accounts"
)

// adminPasswordUpdate changes the logged-in admin's own password
// (POST /admins/password). The current password is checked, and throttled,
// like a login: a session left open must not let anyone take the account.
// Every session of the admin ends; this browser gets a new one.
func (s *Server) adminPasswordUpdate(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	current, pw, again := r.PostForm.Get("current"), r.PostForm.Get("password"), r.PostForm.Get("password_again")
	fail := func(status int, msg string) {
		s.render(w, r, status, "password", sess, "Change your password", passwordPage{Error: msg})
	}
	if pw != again {
		fail(http.StatusBadRequest, "The two new passwords differ.")
		return
	}
	if err := accounts.CheckAdminPassword(sess.Admin.Name, pw); err != nil {
		fail(http.StatusBadRequest, "The new password is not accepted: "+err.Error()+".")
		return
	}
	addr := s.clientAddress(r)
	admin, err := s.accounts.Login(r.Context(), sess.Admin.Name, current, addr)
	var throttled *accounts.ThrottledError
	switch {
	case errors.As(err, &throttled):
		fail(http.StatusTooManyRequests, "Too many wrong passwords. Try again in "+roughly(throttled.Wait)+".")
		return
	case errors.Is(err, accounts.ErrBadLogin):
		s.log.Warn("password change: wrong current password", "admin", sess.Admin.Name, "ip", addr)
		fail(http.StatusUnauthorized, "The current password is wrong.")
		return
	case err != nil:
		s.log.Error("password change", "admin", sess.Admin.Name, "err", err)
		fail(http.StatusInternalServerError, "The password could not be checked. See the server log.")
		return
	}
	if err := s.accounts.ChangeOwnPassword(r.Context(), admin.Name, pw); err != nil {
		s.log.Error("password change", "admin", admin.Name, "err", err)
		fail(http.StatusInternalServerError, "The password could not be changed: "+err.Error())
		return
	}
	cookie, newSess, err := s.accounts.NewSession(r.Context(), admin)
	if err != nil {
		s.log.Error("start session", "admin", admin.Name, "err", err)
		s.clearSessionCookie(w)
		seeOther(w, r, "/login")
		return
	}
	s.setSessionCookie(w, cookie)
	s.log.Info("admin changed its password", "admin", admin.Name, "ip", addr)
	s.flashOK(newSess, "Your password was changed. Your other sessions were ended.")
	seeOther(w, r, "/admins")
}
