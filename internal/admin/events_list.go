package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

type eventsPage struct {
	Events []eventRow
	Days   int // how long events are kept
}

type eventRow struct {
	tokenstore.Event
	URL string // the token's page; "" for a deleted token
}

// eventsShown is how much of the log the events page shows.
const eventsShown = 500

// eventsList is the event log of every token, deleted ones included, newest
// first (GET /events).
func (s *Server) eventsList(w http.ResponseWriter, r *http.Request, sess *accounts.Session) {
	events, err := s.store.Events(r.Context(), "", eventsShown)
	if err != nil {
		s.log.Error("read events", "err", err)
		s.renderError(w, r, http.StatusInternalServerError, "The event log could not be read. See the server log.")
		return
	}
	tokens, err := s.store.List(r.Context())
	if err != nil {
		s.log.Error("list tokens", "err", err)
	}
	live := map[int64]string{}
	for _, t := range tokens {
		live[t.ID] = tokenURL(t)
	}
	page := eventsPage{Days: tokenstore.KeepEventsDays}
	for _, e := range events {
		page.Events = append(page.Events, eventRow{Event: e, URL: live[e.TokenID]})
	}
	s.render(w, r, http.StatusOK, "events", sess, "Event log", page)
}
