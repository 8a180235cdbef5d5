package admin

import (
	"context"
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/advice"
	"mailtokens/internal/tokenstore"
)

// deviceStart begins a device-code sign-in (POST /tokens/{id}/device), for
// installations whose evadmin the provider cannot redirect back to.
func (s *Server) deviceStart(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if f := s.devices.get(t.ID); f != nil {
		if state, _ := f.status(); state == "pending" && s.now().Before(f.Expiry) {
			seeOther(w, r, tokenURL(t)+"/device")
			return
		}
	}
	cfg := s.store.ProviderConfig(t, "")
	da, err := cfg.StartDevice(r.Context())
	if err != nil {
		s.recordSignInFailure(r.Context(), t.Name, actor(sess), err)
		s.flashBad(sess, "The device sign-in for "+t.Name+" could not start.", advice.Explain(err))
		seeOther(w, r, tokenURL(t))
		return
	}
	flow, cancel := context.WithCancel(s.ctx)
	f := &deviceFlow{UserCode: da.UserCode, VerificationURI: da.VerificationURI, Expiry: da.Expiry, cancel: cancel, state: "pending"}
	if old := s.devices.get(t.ID); old != nil {
		old.cancel()
	}
	s.devices.set(t.ID, f)
	s.log.Info("device sign-in started", "token", t.Name, "admin", sess.Admin.Name)
	go s.poll(flow, f, cfg, da, t.Name, actor(sess))
	seeOther(w, r, tokenURL(t)+"/device")
}
