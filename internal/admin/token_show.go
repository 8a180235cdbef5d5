package admin

import (
	"net/http"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/admin/form"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

type showPage struct {
	tokenRow
	Events     []tokenstore.Event
	Scopes     []string // what the next grant asks for: a sign-in's (offline_access included), or the app-only ones
	Endpoints  endpointsView
	CanDevice  bool
	CanAppOnly bool
	CanTest    bool
	KeyInfo    string // the stored client key, described (never the key)
}

type endpointsView struct{ Auth, Token, Device, Revoke string }

// tokenShow shows one token: settings (the secret masked), status and why,
// actions, the event log and the task files using it (GET /tokens/{id}).
func (s *Server) tokenShow(w http.ResponseWriter, r *http.Request, sess *accounts.Session, t *tokenstore.Token) {
	events, err := s.store.Events(r.Context(), t.Name, 50)
	if err != nil {
		s.log.Error("read events", "token", t.Name, "err", err)
	}
	e := t.Endpoints()
	page := showPage{
		tokenRow:  s.row(r.Context(), t),
		Events:    events,
		Scopes:    requestedScopes(t),
		Endpoints: endpointsView{e.Auth, e.Token, e.Device, e.Revoke},
		// Google refuses the Gmail scope to the device flow: the button
		// could only fail.
		CanDevice:  e.Device != "" && t.Type != provider.Google,
		CanAppOnly: canAppOnly(t),
		KeyInfo:    form.Key{}.WithStored(t).Info,
		CanTest:    s.cfg.Tester != nil,
	}
	var targets []string
	if page.AuthOrigin != "" {
		targets = append(targets, page.AuthOrigin)
	}
	s.render(w, r, http.StatusOK, "show", sess, t.Name, page, targets...)
}

// requestedScopes are what t's next grant asks for: the app-only scopes
// for an app-only token or a service account, a sign-in's otherwise.
func requestedScopes(t *tokenstore.Token) []string {
	if t.Grant.AppOnly() || t.ServiceAccountMode() {
		return t.AppOnlyScopes()
	}
	return t.Scopes()
}
