package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// deviceCancel forgets the token's device-code sign-in and stops waiting
// for it (POST /tokens/{id}/device/cancel), back to the token's page. A
// code already entered at the provider is then of no use here.
func (s *Server) deviceCancel(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if f := s.devices.get(t.ID); f != nil {
		f.cancel()
		s.devices.set(t.ID, nil)
		s.log.Info("device sign-in cancelled", "token", t.Name, "admin", sess.Admin.Name)
		if err := s.store.Record(r.Context(), t.Name, actor(sess), tokenstore.EventSignInCancelled,
			"the device-code sign-in was cancelled: a code entered at the provider now does nothing"); err != nil {
			s.log.Warn("could not record the cancelled sign-in", "token", t.Name, "err", err)
		}
		s.flashOK(sess, "The device sign-in for "+t.Name+" was cancelled.")
	}
	seeOther(w, r, tokenURL(t))
}
