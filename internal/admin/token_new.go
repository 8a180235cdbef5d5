package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/provider"
)

// tokenNew shows an empty form (GET /tokens/new).
func (s *Server) tokenNew(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	typ := r.URL.Query().Get("type")
	if _, err := provider.ParseType(typ); err != nil {
		typ = string(provider.Microsoft)
	}
	s.renderForm(w, r, sess, http.StatusOK, formPage{Form: form.Token{Type: typ}, Action: "/tokens"})
}
