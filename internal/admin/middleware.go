package admin

import (
	"errors"
	"net/http"
	"net/url"
	"strings"

	"mailtokens/internal/admin/accounts"
)

const sessionCookie = "evadmin_session"

// securityHeaders sets what every answer carries: no framing, no sniffing,
// no referrer (the callback URL holds an authorization code), no caching of
// pages that show token data, and a strict Content-Security-Policy (pages
// that post to a provider add its origin to form-action).
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp(nil))
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		if s.cfg.Secure {
			h.Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// csp is the policy; formTargets are extra origins forms may submit to
// (a POST to Get Email Token answers with a redirect to the provider, and
// browsers check redirects after a form submission against form-action).
func csp(formTargets []string) string {
	form := "'self'"
	for _, o := range formTargets {
		form += " " + o
	}
	return "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
		"form-action " + form + "; frame-ancestors 'none'; base-uri 'none'"
}

// requireSession runs h with the request's session. Without one, pages
// send the browser to the login page (and back afterwards) and other
// requests get 401. A state-changing request must carry the session's
// CSRF token.
func (s *Server) requireSession(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r)
		if err != nil {
			if !errors.Is(err, accounts.ErrNoSession) {
				s.log.Error("read session", "err", err)
				s.renderError(w, r, http.StatusInternalServerError, "The token store could not be read. See the server log.")
				return
			}
			if r.Method == http.MethodGet {
				http.Redirect(w, r, "/login?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusSeeOther)
				return
			}
			s.renderError(w, r, http.StatusUnauthorized, "Your session has ended. Log in again, then repeat what you were doing.")
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			if err := r.ParseForm(); err != nil {
				s.renderError(w, r, http.StatusBadRequest, "The form could not be read.")
				return
			}
			if !sess.CSRFEqual(r.PostForm.Get("csrf")) {
				s.renderError(w, r, http.StatusForbidden, "The form is out of date or did not come from this utility. Reload the page and try again.")
				return
			}
		}
		h(w, r, sess)
	})
}

// session returns the request's session, or accounts.ErrNoSession.
func (s *Server) session(r *http.Request) (*accounts.Session, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil, accounts.ErrNoSession
	}
	return s.accounts.Session(r.Context(), c.Value)
}

func (s *Server) setSessionCookie(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.Secure,
		// Lax, not Strict: the provider's redirect back to /oauth2/callback
		// is a cross-site navigation that must carry the session.
		SameSite: http.SameSiteLaxMode,
		MaxAge:   int(accounts.SessionMax.Seconds()),
	})
}

func (s *Server) clearSessionCookie(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true,
		Secure: s.cfg.Secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}
