package admin

import (
	"context"
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// saveGrant stores a new authorization and reports it; it ends every way
// of getting a token (redirect, device, paste, app-only). When someone
// other than the token's Email Address signed in, it goes on to the page
// that says so (account_show.go) instead of back.
func (s *Server) saveGrant(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token,
	grant tokenstore.Grant, tok *provider.Token, back string) {
	saved, err := s.store.SaveGrant(r.Context(), t.Name, grant, tok, actor(sess))
	if err != nil {
		s.log.Error("save token", "token", t.Name, "err", err)
		s.flashBad(sess, "The token from the provider could not be saved.", err.Error())
		seeOther(w, r, tokenURL(t))
		return
	}
	s.log.Info("token authorized", "token", saved.Name, "grant", grant, "admin", sess.Admin.Name)
	msg := "Token " + saved.Name + " is valid until " + saved.Expiry.Local().Format("2006-01-02 15:04") + "."
	if !saved.HasRefreshToken && !grant.AppOnly() {
		s.flashWarn(sess, msg, "The provider sent no refresh token, so the token cannot be renewed by itself and must be authorized again when it expires.")
	} else {
		s.flashOK(sess, msg)
	}
	if saved.AccountMismatch() {
		back = tokenURL(saved) + "/account"
	}
	seeOther(w, r, back)
}

// recordSignInFailure records a failed Get Email Token or device sign-in
// as the token's last error and an event; the page shows the failure
// anyway, so a store error is only logged.
func (s *Server) recordSignInFailure(ctx context.Context, name string, who tokenstore.Actor, cause error) {
	if err := s.store.RecordSignInFailure(context.WithoutCancel(ctx), name, who, cause); err != nil {
		s.log.Error("record failed sign-in", "token", name, "err", err)
	}
}
