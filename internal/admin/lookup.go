package admin

import (
	"errors"
	"net/http"
	"strconv"

	"mailtokens/internal/tokenstore"
)

// tokenFor loads the token named by the {id} path value. When it cannot, it
// answers the request itself and returns nil.
func (s *Server) tokenFor(w http.ResponseWriter, r *http.Request) *tokenstore.Token {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		s.notFound(w, r)
		return nil
	}
	t, err := s.store.GetByID(r.Context(), id)
	if errors.Is(err, tokenstore.ErrNotFound) {
		s.renderError(w, r, http.StatusNotFound, "This token does not exist (any more). It may have been deleted.")
		return nil
	}
	if err != nil {
		s.log.Error("read token", "id", id, "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The token could not be read: "+err.Error())
		return nil
	}
	return t
}

func tokenURL(t *tokenstore.Token) string { return "/tokens/" + strconv.FormatInt(t.ID, 10) }
