package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// oauth2Authorize starts Get Email Token (POST /tokens/{id}/authorize): a
// random single-use state bound to this session, a PKCE verifier kept
// here, and a redirect to the provider's sign-in page.
func (s *Server) oauth2Authorize(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	cfg := s.store.ProviderConfig(t, s.redirect)
	req, err := cfg.StartAuth()
	if err != nil {
		s.flashBad(sess, "Get Email Token for "+t.Name+" could not start.", err.Error())
		seeOther(w, r, tokenURL(t))
		return
	}
	s.pending.put(req.State, pendingAuth{tokenID: t.ID, proof: req.Proof, session: sess.CSRF}, s.now())
	s.log.Info("sign-in started", "token", t.Name, "provider", t.Type, "admin", sess.Admin.Name)
	if origin := provider.Origin(req.URL); origin != "" {
		w.Header().Set("Content-Security-Policy", csp([]string{origin}))
	}
	http.Redirect(w, r, req.URL, http.StatusSeeOther)
}
