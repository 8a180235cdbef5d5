package admin

import (
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"mailtokens/internal/admin/accounts"
)

// maxLoginForm bounds what a login post may send: a name, a password and a
// path fit in far less.
const maxLoginForm = 16 << 10

// loginCheck checks a login (POST /login). There is no session yet, so no
// CSRF token; cross-site posts are stopped by the cross-origin check, and
// guessing by the throttle in [accounts.Accounts.Login].
func (s *Server) loginCheck(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxLoginForm)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			s.renderError(w, r, http.StatusRequestEntityTooLarge, "The login form was too large.")
			return
		}
		s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
		return
	}
	name, password := r.PostForm.Get("name"), r.PostForm.Get("password")
	page := loginPage{Next: safeNext(r.PostForm.Get("next"))}
	addr := s.clientAddress(r)
	admin, err := s.accounts.Login(r.Context(), name, password, addr)
	var throttled *accounts.ThrottledError
	switch {
	case errors.Is(err, accounts.ErrBadName):
		// Neither echoed nor logged: it may be megabytes, or forge log lines.
		s.log.Warn("login refused: not an admin name", "bytes", len(name), "ip", addr)
		page.Error = "That is not an admin name: admin names have letters, digits and . _ @ - (at most 64)."
		s.render(w, r, http.StatusBadRequest, "login", nil, "Log in", page)
		return
	case errors.As(err, &throttled):
		page.Name = name
		w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(throttled.Wait.Seconds()))))
		s.log.Warn("login throttled", "admin", name, "ip", addr, "wait", throttled.Wait.Round(time.Second))
		page.Error = "Too many failed logins for this name from your address. Try again in " + roughly(throttled.Wait) + "."
		s.render(w, r, http.StatusTooManyRequests, "login", nil, "Log in", page)
		return
	case errors.Is(err, accounts.ErrBadLogin):
		page.Name = name
		s.log.Warn("login failed", "admin", name, "ip", addr)
		page.Error = "Wrong name or password."
		s.render(w, r, http.StatusUnauthorized, "login", nil, "Log in", page)
		return
	case err != nil:
		s.log.Error("login", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The login could not be checked. See the server log.")
		return
	}
	cookie, _, err := s.accounts.NewSession(r.Context(), admin)
	if err != nil {
		s.log.Error("start session", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The session could not be started. See the server log.")
		return
	}
	s.setSessionCookie(w, cookie)
	s.log.Info("admin logged in", "admin", admin.Name, "ip", addr)
	seeOther(w, r, page.Next)
}

// roughly says a wait in whole seconds or minutes, rounded up.
func roughly(d time.Duration) string {
	if d <= time.Minute {
		return plural(int(math.Ceil(d.Seconds())), "second")
	}
	return plural(int(math.Ceil(d.Minutes())), "minute")
}

func plural(n int, unit string) string {
	if n == 1 {
		return "1 " + unit
	}
	return fmt.Sprintf("%d %ss", n, unit)
}
