package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/advice"
	"mailtokens/internal/tokenstore"
)

// tokenRefresh refreshes the access token now (POST /tokens/{id}/refresh),
// through the same coordinated path the workers use.
func (s *Server) tokenRefresh(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	a, err := s.store.Source(t.Name, actor(sess)).Refresh(r.Context())
	if err != nil {
		s.flashBad(sess, "Refreshing "+t.Name+" failed.", advice.Explain(err))
	} else {
		s.flashOK(sess, "Token "+t.Name+" refreshed: valid until "+a.Expiry.Local().Format("2006-01-02 15:04")+".")
	}
	seeOther(w, r, tokenURL(t))
}
