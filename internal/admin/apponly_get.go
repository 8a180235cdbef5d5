package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// canAppOnly says whether t can get an app-only token: Microsoft apps
// always (client credentials), Google tokens with a service account key.
func canAppOnly(t *tokenstore.Token) bool {
	return t.Type == provider.Microsoft || (t.Type == provider.Google && t.HasClientKey)
}

// appOnlyGet gets an app-only token (POST /tokens/{id}/apponly): no user
// signs in. Microsoft: client credentials, with the client secret or the
// certificate; Exchange Online must grant the app's service principal
// access to the mailbox. Google: the service account's token for the
// token's mailbox (domain-wide delegation). Over a delegated token, whose
// refresh token it would lose, it acts once confirmed (see askFirst).
func (s *Server) appOnlyGet(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	if delegated(t) && !s.confirmed(w, r, sess, t, appOnlyGuard(t)) {
		return
	}
	cfg := s.store.ProviderConfig(t, "")
	grant := tokenstore.GrantClientCredentials
	if cfg.ServiceAccountMode() {
		grant = tokenstore.GrantServiceAccount
	}
	tok, err := cfg.AppOnly(r.Context())
	if err != nil {
		s.flashBad(sess, "The app-only token for "+t.Name+" could not be had.", advice.Explain(err))
		seeOther(w, r, tokenURL(t))
		return
	}
	s.saveGrant(w, r, sess, t, grant, tok, tokenURL(t))
}
