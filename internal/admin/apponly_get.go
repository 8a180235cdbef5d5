package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/advice"
	"mailtokens/internal/tokenstore"
)

// appOnlyGet gets an app-only token with the client credentials (POST
// /tokens/{id}/apponly): no user signs in; Exchange Online must grant the
// app's service principal access to the mailbox. Over a delegated token,
// whose refresh token it would lose, it acts once confirmed (see askFirst).
func (s *Server) appOnlyGet(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if delegated(t) && !s.confirmed(w, r, sess, t, appOnlyGuard(t)) {
		return
	}
	tok, err := s.store.ProviderConfig(t, "").AppOnly(r.Context())
	if err != nil {
		s.flashBad(sess, "The app-only token for "+t.Name+" could not be had.", advice.Explain(err))
		seeOther(w, r, tokenURL(t))
		return
	}
	s.saveGrant(w, r, sess, t, tokenstore.GrantClientCredentials, tok, tokenURL(t))
}
