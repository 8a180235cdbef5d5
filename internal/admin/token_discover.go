package admin

import (
	"context"
	"net/http"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/advice"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// tokenDiscover answers the token form's Discover button (POST /tokens or
// /tokens/{id}/edit with action=discover): it reads the issuer's
// discovery document and shows the form again filled from it, or with
// the reason beside the Issuer URL. Nothing is saved.
func (s *Server) tokenDiscover(w http.ResponseWriter, r *http.Request, sess *accounts.Session, p formPage) {
	issuer := p.Form.Standard.Issuer
	if issuer == "" {
		p.Errors = fielderr.List{{Field: provider.FieldIssuer, Message: "is needed to discover: the address your provider names as its issuer, like https://id.example.com/realms/mail"}}
		s.renderForm(w, r, sess, http.StatusBadRequest, p)
		return
	}
	// The store's HTTP client: the timeouts every provider request has.
	cfg := s.store.ProviderConfig(&tokenstore.Token{}, "")
	ctx, cancel := context.WithTimeout(r.Context(), provider.RequestTimeout+5*time.Second)
	defer cancel()
	d, err := cfg.Discover(ctx, issuer)
	if err != nil {
		s.log.Warn("discovery failed", "issuer", issuer, "admin", sess.Admin.Name, "err", err)
		p.Errors = fielderr.List{{Field: provider.FieldIssuer, Message: advice.Explain(err)}}
		s.renderForm(w, r, sess, http.StatusOK, p)
		return
	}
	p.Form.Type = string(provider.Generic)
	p.Form.Fill(d)
	p.Discovered = d
	s.log.Info("discovered", "issuer", d.Issuer, "document", d.Source, "admin", sess.Admin.Name)
	s.renderForm(w, r, sess, http.StatusOK, p)
}
