package admin

import (
	"net/http"
	"strconv"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

type devicePage struct {
	Token     tokenRow
	Flow      *deviceFlow
	State     string
	Result    string
	ExpiresIn string // until the code expires, in minutes
	Refresh   int
}

// RefreshSeconds makes the layout reload a pending page, so it works
// without JavaScript.
func (p devicePage) RefreshSeconds() int { return p.Refresh }

// minutes is how long a code stays valid, in words a person reads at a
// glance: "14 min", not "899 seconds".
func minutes(d time.Duration) string {
	if d < time.Minute {
		return "less than a minute"
	}
	return strconv.Itoa(int(d/time.Minute)) + " min"
}

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
	page := devicePage{Token: s.row(r.Context(), t), Flow: f, State: state, Result: result, ExpiresIn: minutes(f.Expiry.Sub(s.now()))}
	if state == "pending" {
		page.Refresh = 3
	}
	s.render(w, r, http.StatusOK, "device", sess, "Sign in with a device code", page)
}
