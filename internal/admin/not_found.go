package admin

import "net/http"

// notFound answers addresses no route matches (the "/" fallback), and
// handlers call it for a page that does not exist for this request.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.renderError(w, r, http.StatusNotFound, "There is no page at this address.")
}
