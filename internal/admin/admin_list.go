package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
)

type adminListPage struct {
	Admins []adminRow
	Events []accounts.Event
}

type adminRow struct {
	accounts.Admin
	URL       string
	Self      bool // the logged-in admin
	Deletable bool // not the last one
}

// adminEventsShown is how much of the account log the admins page shows.
const adminEventsShown = 50

// adminList lists the admin accounts and the newest account events
// (GET /admins).
func (s *Server) adminList(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	list, err := s.accounts.List(r.Context())
	if err != nil {
		s.log.Error("list admins", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The admin accounts could not be read. See the server log.")
		return
	}
	var page adminListPage
	for _, a := range list {
		page.Admins = append(page.Admins, adminRow{Admin: a, URL: adminURL(&a), Self: a.ID == sess.Admin.ID, Deletable: len(list) > 1})
	}
	if page.Events, err = s.accounts.Events(r.Context(), adminEventsShown); err != nil {
		s.log.Error("read admin events", "err", err)
	}
	s.render(w, r, http.StatusOK, "admins", sess, "Admins", page)
}
