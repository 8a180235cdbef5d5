package admin

import (
	"errors"
	"net/http"
	"strconv"

	"mailtokens/internal/admin/accounts"
)

// adminHandlerFunc is a handler of an /admins/{id}… route: it runs with
// the session and the admin account the path names.
type adminHandlerFunc func(w http.ResponseWriter, r *http.Request, sess *accounts.Session, a *accounts.Admin)

// withAdmin loads the admin account named by the {id} path value and runs
// h with it; like [Server.withToken], it answers 404 and 500 itself.
func (s *Server) withAdmin(h adminHandlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			s.notFound(w, r)
			return
		}
		a, err := s.accounts.AdminByID(r.Context(), id)
		if errors.Is(err, accounts.ErrNoAdmin) {
			s.renderError(w, r, http.StatusNotFound, "This admin account does not exist (any more). It may have been deleted.")
			return
		}
		if err != nil {
			s.log.Error("read admin", "id", id, "err", err)
			s.renderError(w, r, http.StatusInternalServerError, "The admin account could not be read: "+err.Error())
			return
		}
		h(w, r, sess, a)
	}
}

func adminURL(a *accounts.Admin) string { return "/admins/" + strconv.FormatInt(a.ID, 10) }
