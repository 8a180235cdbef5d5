package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"

	"mailtokens/internal/admin/accounts"
)

// loginCheck checks a login (POST /login). There is no session yet, so no
// CSRF token; cross-site posts are stopped by the cross-origin check, and
// guessing by the limiter.
func (s *Server) loginCheck(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	page := loginPage{Next: safeNext(r.PostForm.Get("next")), Name: name}
	ip, now := clientIP(r), s.now()
	if wait := s.limiter.wait(ip, name, now); wait > 0 {
		page.Error = fmt.Sprintf("Too many failed logins. Try again in %d minutes.", int(math.Ceil(wait.Minutes())))
		s.log.Warn("login throttled", "admin", name, "ip", ip)
		s.render(w, r, http.StatusTooManyRequests, "login", nil, "Log in", page)
		return
	}
	admin, err := s.accounts.CheckAdminLogin(r.Context(), name, password)
	if errors.Is(err, accounts.ErrBadLogin) {
		s.limiter.fail(ip, name, now)
		s.log.Warn("login failed", "admin", name, "ip", ip)
		page.Error = "Wrong name or password."
		s.render(w, r, http.StatusUnauthorized, "login", nil, "Log in", page)
		return
	}
	if err != nil {
		s.log.Error("login", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The login could not be checked. See the server log.")
		return
	}
	s.limiter.succeed(ip, name)
	cookie, _, err := s.accounts.NewSession(r.Context(), admin)
	if err != nil {
		s.log.Error("start session", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The session could not be started. See the server log.")
		return
	}
	s.setSessionCookie(w, cookie)
	s.log.Info("admin logged in", "admin", admin.Name, "ip", ip)
	seeOther(w, r, page.Next)
}
