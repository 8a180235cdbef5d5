package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

type devicePage struct {
	Token   tokenRow
	Flow    *deviceFlow
	State   string
	Result  string
	Seconds int // until the code expires
	Refresh int
}

// RefreshSeconds makes the layout reload a pending page, so it works
// without JavaScript.
func (p devicePage) RefreshSeconds() int { return p.Refresh }

// deviceShow shows the code to enter at the provider and waits (GET
// /tokens/{id}/device).
func (s *Server) deviceShow(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	f := s.devices.get(t.ID)
	if f == nil {
		seeOther(w, r, tokenURL(t))
		return
	}
	state, result := f.status()
	if state == "done" {
		s.devices.set(t.ID, nil)
		fresh, err := s.store.GetByID(r.Context(), t.ID)
		if err == nil {
			t = fresh
		}
		s.flashOK(sess, "Token "+t.Name+" is valid until "+t.Expiry.Local().Format("2006-01-02 15:04")+".")
		if t.AccountMismatch() {
			seeOther(w, r, tokenURL(t)+"/account")
			return
		}
		seeOther(w, r, "/")
		return
	}
	page := devicePage{Token: s.row(r.Context(), t), Flow: f, State: state, Result: result, Seconds: int(f.Expiry.Sub(s.now()).Seconds())}
	if state == "pending" {
		page.Refresh = 3
	}
	s.render(w, r, http.StatusOK, "device", sess, "Sign in with a device code", page)
}
