package admin

import (
	"cmp"
	"net/http"
	"slices"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/notify"
)

type listPage struct {
	Tokens []tokenRow
	// NotifyFailures are the notification channels failing now.
	NotifyFailures []notify.Failure
}

// tokenList is the home page: every token and its health (GET /).
func (s *Server) tokenList(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	tokens, err := s.store.List(r.Context())
	if err != nil {
		s.log.Error("list tokens", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The tokens could not be read: "+err.Error())
		return
	}
	tasks, err := s.store.AllTasks(r.Context())
	if err != nil {
		s.log.Error("read tasks", "err", err)
	}
	page := listPage{}
	if page.NotifyFailures, err = notify.Failures(r.Context(), s.store.DB()); err != nil {
		s.log.Error("read notification failures", "err", err)
	}
	var origins []string
	seen := map[string]bool{}
	for _, t := range tokens {
		row := s.rowOf(t, tasks[t.ID])
		page.Tokens = append(page.Tokens, row)
		if row.AuthOrigin != "" && !seen[row.AuthOrigin] {
			seen[row.AuthOrigin] = true
			origins = append(origins, row.AuthOrigin)
		}
	}
	// Tokens that need someone first, then by name (List's order).
	slices.SortStableFunc(page.Tokens, func(a, b tokenRow) int { return cmp.Compare(b.Health.Level, a.Health.Level) })
	s.render(w, r, http.StatusOK, "list", sess, "Access Tokens for 3rd Party Email Services", page, origins...)
}
