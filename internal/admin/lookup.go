package admin

import (
	"errors"
	"net/http"
	"strconv"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// tokenHandlerFunc is a handler of a /tokens/{id}… route: it runs with the
// session and the token the path names.
type tokenHandlerFunc func(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token)

// withToken loads the token named by the {id} path value and runs h with
// it. When there is no such token (404) or the store fails (500), it
// answers the request itself and h does not run.
func (s *Server) withToken(h tokenHandlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
		id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
		if err != nil || id <= 0 {
			s.notFound(w, r)
			return
		}
		t, err := s.store.GetByID(r.Context(), id)
		if errors.Is(err, tokenstore.ErrNotFound) {
			s.renderError(w, r, http.StatusNotFound, "This token does not exist (any more). It may have been deleted.")
			return
		}
		if err != nil {
			s.log.Error("read token", "id", id, "err", err)
			s.renderError(w, r, http.StatusInternalServerError, "The token could not be read: "+err.Error())
			return
		}
		h(w, r, sess, t)
	}
}

func tokenURL(t *tokenstore.Token) string { return "/tokens/" + strconv.FormatInt(t.ID, 10) }
