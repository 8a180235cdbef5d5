package admin

import (
	"context"
	"net/http"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// oauth2Callback is where the provider sends the browser back (GET
// /oauth2/callback). It is reachable without the session middleware because
// the provider's redirect is what brings the admin here, but it checks the
// session itself: the state must have been issued to this very session,
// and is used once.
func (s *Server) oauth2Callback(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sess, err := s.session(r)
	if err != nil {
		s.renderError(w, r, http.StatusUnauthorized, "Your session ended while you were signing in at the provider. Log in again and click Get Email Token once more.")
		return
	}
	pa, ok := s.pending.take(q.Get("state"), s.now())
	if !ok || pa.session != sess.CSRF {
		s.log.Warn("sign-in callback with an unknown, used or expired state", "admin", sess.Admin.Name)
		s.flashBad(sess, "The sign-in could not be completed.", "The answer from the provider did not match a sign-in started here, was used already, or took longer than 10 minutes. Click Get Email Token again.")
		seeOther(w, r, "/")
		return
	}
	t, err := s.store.GetByID(r.Context(), pa.tokenID)
	if err != nil {
		s.flashBad(sess, "The token was deleted during the sign-in.", "")
		seeOther(w, r, "/")
		return
	}
	cfg := s.store.ProviderConfig(t, s.redirect)
	if code := q.Get("error"); code != "" {
		refused := cfg.Refused(code, q.Get("error_description"))
		s.log.Warn("sign-in refused by the provider", "token", t.Name, "error", code, "description", q.Get("error_description"))
		s.recordSignInFailure(r.Context(), t.Name, actor(sess), refused)
		s.flashBad(sess, "Get Email Token for "+t.Name+" failed.", advice.Explain(refused))
		seeOther(w, r, tokenURL(t))
		return
	}
	if q.Get("code") == "" {
		s.recordSignInFailure(r.Context(), t.Name, actor(sess), cfg.Refused("invalid_request", "The provider sent neither a code nor an error."))
		s.flashBad(sess, "Get Email Token for "+t.Name+" failed.", "The provider sent neither a code nor an error.")
		seeOther(w, r, tokenURL(t))
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), provider.RequestTimeout+5*time.Second)
	defer cancel()
	tok, err := cfg.Exchange(ctx, q.Get("code"), pa.proof)
	if err != nil {
		s.log.Warn("code exchange failed", "token", t.Name, "err", err)
		s.recordSignInFailure(r.Context(), t.Name, actor(sess), err)
		s.flashBad(sess, "Get Email Token for "+t.Name+" failed.", advice.Explain(err))
		seeOther(w, r, tokenURL(t))
		return
	}
	s.saveGrant(w, r, sess, t, tokenstore.GrantAuthorizationCode, tok, "/")
}
