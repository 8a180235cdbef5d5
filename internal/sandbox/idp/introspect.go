package idp

import (
	"net/http"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// Token introspection (RFC 7662). Neither provider offers it to mail
// servers — Exchange and Gmail validate their own tokens — but Dovecot's
// oauth2 passdb and the sandbox's own mail servers need some way to ask
// "is this bearer token good, and whose is it?", and this is the standard one.

// Introspection is what the sandbox knows about an access token.
type Introspection struct {
	Active   bool
	Username string // the user's email, lowercased; empty for app-only tokens
	Scope    string // space-separated: Microsoft scp (delegated) or roles (app-only); Google scopes
	ClientID string
	Provider provider.Type
	Exp      time.Time
	AppOnly  bool
	// Audience is the resource the token is for. A Microsoft token for
	// Graph ("https://graph.microsoft.com") is no good at Exchange's IMAP
	// even if its scp says IMAP.AccessAsUser.All; mail servers should check.
	Audience string
	IssuedAt time.Time
	Subject  string
	TenantID string // Microsoft only
}

// Introspect looks an access token up. Refresh tokens, unknown, expired and
// revoked tokens are inactive. A Microsoft access token stays active after
// RevokeConsent until it expires, as a self-contained JWT does; a Google one
// dies with its grant.
func (s *Server) Introspect(token string) Introspection {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.accessTokens[token]
	if t == nil || !s.clock.Now().Before(t.expiresAt) || (t.grant != nil && t.grant.revoked) {
		return Introspection{}
	}
	in := Introspection{
		Active:   true,
		Scope:    t.scope,
		ClientID: t.app.ClientID,
		Provider: t.provider,
		Exp:      t.expiresAt,
		AppOnly:  t.appOnly,
		Audience: t.audience,
		IssuedAt: t.issuedAt,
		Subject:  t.subject,
		TenantID: t.tenantID,
	}
	if !t.appOnly {
		// Dovecot lowercases the login name before comparing it with the
		// introspected username, so hand it out lowercased.
		in.Username = strings.ToLower(t.grant.user.Email)
	}
	return in
}

// introspectionResponse is the RFC 7662 JSON answer. "email" repeats the
// username because Dovecot's default username_attribute is "email".
type introspectionResponse struct {
	Active    bool   `json:"active"`
	Username  string `json:"username,omitempty"`
	Email     string `json:"email,omitempty"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	Exp       int64  `json:"exp,omitempty"`
	Iat       int64  `json:"iat,omitempty"`
	Sub       string `json:"sub,omitempty"`
	Aud       string `json:"aud,omitempty"`
	Iss       string `json:"iss,omitempty"`
	AppOnly   bool   `json:"app_only,omitempty"`
}

// handleIntrospect answers GET and POST /introspect. Mail servers differ in
// how they ask, so the token may come as form field "token" (RFC 7662,
// Dovecot introspection_mode=post), as a query parameter "token" or
// "access_token" (Dovecot's get mode appends it to the URL), or as a bearer
// in the Authorization header (Dovecot's auth mode). Client authentication,
// if sent, is ignored.
func (s *Server) handleIntrospect(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	tok := r.Form.Get("token")
	if tok == "" {
		tok = r.Form.Get("access_token")
	}
	if tok == "" {
		if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
			tok = strings.TrimSpace(h[7:])
		}
	}
	if tok == "" {
		writeJSON(w, http.StatusBadRequest, googleErrorBody{Error: "invalid_request", Description: "missing token"})
		return
	}
	in := s.Introspect(tok)
	if !in.Active {
		writeJSON(w, http.StatusOK, introspectionResponse{Active: false})
		return
	}
	resp := introspectionResponse{
		Active:    true,
		Username:  in.Username,
		Email:     in.Username,
		Scope:     in.Scope,
		ClientID:  in.ClientID,
		TokenType: "Bearer",
		Exp:       in.Exp.Unix(),
		Iat:       in.IssuedAt.Unix(),
		Sub:       in.Subject,
		Aud:       in.Audience,
		AppOnly:   in.AppOnly,
	}
	switch in.Provider {
	case provider.Microsoft:
		resp.Iss = "https://sts.windows.net/" + in.TenantID + "/"
	case provider.Generic:
		resp.Iss = s.baseURL(r) + stdPath
	default:
		resp.Iss = "https://accounts.google.com"
	}
	writeJSON(w, http.StatusOK, resp)
}
