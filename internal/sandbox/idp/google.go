package idp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// Google: /google/o/oauth2/v2/auth (accounts.google.com), /google/token,
// /google/revoke and /google/device/code (oauth2.googleapis.com). The device
// endpoint is in device.go.

const (
	// googleTestingRefreshLifetime: apps whose consent screen is in
	// "Testing" get refresh tokens that die 7 days after they were issued.
	googleTestingRefreshLifetime = 7 * 24 * time.Hour
	// googleRefreshInactivity: Google drops refresh tokens unused for six
	// months.
	googleRefreshInactivity = 183 * 24 * time.Hour
)

// The one invalid_grant text Google gives for every dead refresh token.
const googleExpiredOrRevoked = "Token has been expired or revoked."

// handleGoogleAuth is GET /google/o/oauth2/v2/auth.
func (s *Server) handleGoogleAuth(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := s.googleAuthLocked(r)
	s.mu.Unlock()
	s.writeGoogleAuthOutcome(w, r, out)
}

func (s *Server) googleAuthLocked(r *http.Request) authOutcome {
	q := r.URL.Query()
	clientID := q.Get("client_id")
	if clientID == "" {
		return authOutcome{pageErr: googleError(400, "invalid_request", "Missing required parameter: client_id")}
	}
	a := s.apps[clientID]
	if a == nil || a.Provider != provider.Google {
		return authOutcome{pageErr: googleError(401, "invalid_client", "The OAuth client was not found.")}
	}
	// Like Microsoft, Google shows errors on its own page until the
	// redirect URI is known to be registered.
	redirectURI := q.Get("redirect_uri")
	if redirectURI == "" {
		return authOutcome{pageErr: googleError(400, "invalid_request", "Missing required parameter: redirect_uri")}
	}
	if !redirectURIAllowed(a.RedirectURIs, redirectURI) {
		return authOutcome{pageErr: googleError(400, "redirect_uri_mismatch", fmt.Sprintf(
			"You can't sign in to this app because it doesn't comply with Google's OAuth 2.0 policy. If you're the app developer, register the redirect URI in the Google Cloud Console. Request details: redirect_uri=%s", redirectURI))}
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return authOutcome{pageErr: googleError(400, "invalid_request", "Required parameter is missing: response_type")}
	default:
		return authOutcome{pageErr: googleError(400, "unsupported_response_type", "Invalid response_type: "+rt)}
	}
	rawScope := q.Get("scope")
	if strings.TrimSpace(rawScope) == "" {
		return authOutcome{pageErr: googleError(400, "invalid_request", "Missing required parameter: scope")}
	}
	scopes, unknown := parseGoogleScopes(rawScope)
	if len(unknown) > 0 {
		return authOutcome{pageErr: googleError(400, "invalid_scope", fmt.Sprintf("Some requested scopes were invalid. {invalid=[%s]}", strings.Join(unknown, ", ")))}
	}
	accessType := q.Get("access_type")
	if accessType != "" && accessType != "online" && accessType != "offline" {
		return authOutcome{pageErr: googleError(400, "invalid_request", "Invalid access_type: "+accessType)}
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && !validChallengeMethod(method) {
		return authOutcome{pageErr: googleError(400, "invalid_request", "Invalid code_challenge_method: "+method)}
	}
	prompt := q.Get("prompt")
	for _, p := range strings.Fields(prompt) {
		if p != "none" && p != "consent" && p != "select_account" {
			return authOutcome{pageErr: googleError(400, "invalid_request", "Invalid prompt: "+prompt)}
		}
	}
	state := q.Get("state")
	if promptHas(prompt, "none") {
		// No browser session in the sandbox, so silent sign-in always fails.
		v := url.Values{"error": {"login_required"}}
		if state != "" {
			v.Set("state", state)
		}
		return authOutcome{redirect: withQuery(redirectURI, v)}
	}
	p := newPending(provider.Google, a, r, redirectURI, state, challenge, method, prompt)
	p.accessType, p.google = accessType, scopes
	s.newPendingLocked(p)
	return authOutcome{pending: p, email: p.loginHint}
}

// handleGoogleAuthSubmit is the sign-in page's form POST.
func (s *Server) handleGoogleAuthSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.renderGoogleErrorPage(w, googleError(400, "invalid_request", "Bad Request"))
		return
	}
	s.mu.Lock()
	out := s.googleAuthSubmitLocked(r)
	s.mu.Unlock()
	s.writeGoogleAuthOutcome(w, r, out)
}

func (s *Server) googleAuthSubmitLocked(r *http.Request) authOutcome {
	f := r.PostForm
	p := s.pendingLocked(f.Get("request"), provider.Google)
	if p == nil {
		return authOutcome{pageErr: googleError(400, "invalid_request", "This sign-in page has expired or was already used. Start the sign-in again from the application.")}
	}
	email := strings.TrimSpace(f.Get("email"))
	retry := func(msg string) authOutcome { return authOutcome{pending: p, formErr: msg, email: email} }
	redirect := func(v url.Values) authOutcome {
		if p.state != "" {
			v.Set("state", p.state)
		}
		return authOutcome{redirect: withQuery(p.redirectURI, v)}
	}
	switch f.Get("action") {
	case "cancel":
		delete(s.pending, p.id)
		return redirect(url.Values{"error": {"access_denied"}})
	case "accept":
	default:
		return retry("Choose Allow or Cancel.")
	}
	u, ok := s.checkCredentialsLocked(provider.Google, email, f.Get("password"))
	if msg := signInProblem(provider.Google, u, ok, nil); msg != "" {
		return retry(msg)
	}
	delete(s.pending, p.id)

	// Google hands out a refresh token once per user and client: at the
	// first offline consent. Later sign-ins get none unless the app forces
	// the consent screen again with prompt=consent.
	c := s.consentLocked(p.app, u)
	issueRefresh := p.accessType == "offline" && (!c.offlineGranted || promptHas(p.prompt, "consent"))
	if issueRefresh {
		c.offlineGranted = true
	}
	g := s.newGrantLocked(provider.Google, p.app, u, "")
	g.google = p.google
	g.offline = issueRefresh
	code := s.issueCodeLocked(g, p, issueRefresh)
	return redirect(url.Values{
		"code":     {code.value},
		"scope":    {strings.Join(p.google, " ")},
		"authuser": {"0"},
		"prompt":   {"consent"},
	})
}

func (s *Server) writeGoogleAuthOutcome(w http.ResponseWriter, r *http.Request, out authOutcome) {
	switch {
	case out.pageErr != nil:
		s.renderGoogleErrorPage(w, out.pageErr)
	case out.redirect != "":
		http.Redirect(w, r, out.redirect, http.StatusFound)
	default:
		p := out.pending
		note := ""
		if p.accessType == "offline" {
			note = p.app.Name + " will keep access to this data until you remove it from your Google Account."
		}
		s.render(w, http.StatusOK, "signin.html", signInData{
			pageMeta:    pageMeta{Title: "Sign in - Google Accounts", Brand: provider.Google},
			Heading:     "Sign in with Google",
			AppName:     p.app.Name,
			Scopes:      googleConsentLines(p.google),
			Action:      p.path,
			Hidden:      []hiddenField{{"request", p.id}},
			Email:       out.email,
			Error:       out.formErr,
			AcceptLabel: "Allow",
			Note:        note,
		})
	}
}

// googleTokenResponse is a successful Google token response.
type googleTokenResponse struct {
	AccessToken  string `json:"access_token"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	// RefreshTokenExpiresIn is sent for refresh tokens with a deadline
	// (apps in "Testing").
	RefreshTokenExpiresIn int64  `json:"refresh_token_expires_in,omitempty"`
	Scope                 string `json:"scope"`
	TokenType             string `json:"token_type"`
	IDToken               string `json:"id_token,omitempty"` // with openid, refreshes too (idtoken.go)
}

func (s *Server) newGoogleTokenResponse(at *accessToken, rt *refreshToken, includeRefresh bool, nonce string) googleTokenResponse {
	resp := googleTokenResponse{
		AccessToken: at.value,
		ExpiresIn:   expiresIn(at),
		Scope:       at.scope,
		TokenType:   "Bearer",
		IDToken:     s.idTokenLocked(at.grant, nonce),
	}
	if rt != nil && includeRefresh {
		resp.RefreshToken = rt.value
	}
	if rt != nil && rt.grant.app.Testing {
		left := rt.issuedAt.Add(googleTestingRefreshLifetime).Sub(s.clock.Now())
		resp.RefreshTokenExpiresIn = max(int64(left/time.Second), 1)
	}
	return resp
}

// handleGoogleToken is POST /google/token.
func (s *Server) handleGoogleToken(w http.ResponseWriter, r *http.Request) {
	s.serveToken(w, r, "Bad Request", s.googleTokenLocked, writeGoogleError)
}

// serveToken answers a token request the Google-style way the Google-like
// and the standards issuers share: a form that cannot be read is
// invalid_request (badForm the description), the rest is answer's, run
// under the lock, with its error written by writeErr.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request, badForm string,
	answer func(*http.Request) (any, *oauthError), writeErr func(http.ResponseWriter, *oauthError)) {
	if err := parseForm(w, r); err != nil {
		writeGoogleError(w, googleError(400, "invalid_request", badForm))
		return
	}
	s.mu.Lock()
	resp, e := answer(r)
	s.mu.Unlock()
	if e != nil {
		writeErr(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) googleTokenLocked(r *http.Request) (any, *oauthError) {
	f := r.PostForm
	gt := f.Get("grant_type")
	if gt == "" {
		return nil, googleError(400, "unsupported_grant_type", "Invalid grant_type: ")
	}
	s.recordTokenRequestLocked(gt)
	if gt == grantJWTBearer {
		// A service account's grant: the signed JWT is the client's proof.
		return s.googleJWTBearerLocked(r)
	}
	ca, ok := readClientAuth(r)
	if !ok {
		return nil, googleError(400, "invalid_request", "Bad Request")
	}
	resp, e := s.googleGrantTypeLocked(gt, ca, f)
	if gt == grantRefreshToken {
		s.recordRefreshLocked(provider.Google, ca.id, f.Get("refresh_token"), e)
	}
	return resp, e
}

func (s *Server) googleGrantTypeLocked(gt string, ca clientAuth, f url.Values) (any, *oauthError) {
	switch gt {
	case grantAuthorizationCode, grantRefreshToken, grantDeviceCode:
	default:
		return nil, googleError(400, "unsupported_grant_type", "Invalid grant_type: "+gt)
	}
	if ca.id == "" {
		return nil, googleError(400, "invalid_request", "Could not determine client ID from request.")
	}
	a := s.apps[ca.id]
	if a == nil || a.Provider != provider.Google {
		return nil, googleError(401, "invalid_client", "The OAuth client was not found.")
	}
	if e := s.googleCheckSecretLocked(a, ca); e != nil {
		return nil, e
	}
	switch gt {
	case grantAuthorizationCode:
		return s.googleRedeemCodeLocked(a, f)
	case grantRefreshToken:
		return s.googleRefreshLocked(a, f)
	default:
		return s.googlePollDeviceLocked(a, f)
	}
}

// googleCheckSecretLocked: Google clients with a secret (web, desktop and TV
// clients all have one) must send it; Google does not say why a secret is
// wrong, expired or not.
func (s *Server) googleCheckSecretLocked(a *app, ca clientAuth) *oauthError {
	if len(a.Secrets) == 0 {
		return nil
	}
	if !ca.secretSent {
		return googleError(400, "invalid_request", "client_secret is missing.")
	}
	now := s.clock.Now()
	for _, sec := range a.Secrets {
		if constantTimeEqual(sec.Value, ca.secret) && (sec.Expires.IsZero() || now.Before(sec.Expires)) {
			return nil
		}
	}
	return googleError(401, "invalid_client", "Unauthorized")
}

func (s *Server) googleRedeemCodeLocked(a *app, f url.Values) (any, *oauthError) {
	v := f.Get("code")
	if v == "" {
		return nil, googleError(400, "invalid_request", "Missing required parameter: code")
	}
	c := s.codes[v]
	// Google does not explain a bad code: unknown, reused, expired, or
	// another client's code all read "Bad Request".
	if c == nil || c.grant.provider != provider.Google || c.grant.app != a || c.redeemed || c.grant.revoked ||
		s.clock.Now().Sub(c.issuedAt) >= codeLifetime {
		return nil, googleError(400, "invalid_grant", "Bad Request")
	}
	ru := f.Get("redirect_uri")
	if ru == "" {
		return nil, googleError(400, "invalid_request", "Missing required parameter: redirect_uri")
	}
	if ru != c.redirectURI {
		return nil, googleError(400, "redirect_uri_mismatch", "Bad Request")
	}
	if c.challenge != "" {
		verifier := f.Get("code_verifier")
		if verifier == "" {
			return nil, googleError(400, "invalid_grant", "Missing code verifier.")
		}
		if !pkceValid(c.challenge, c.method, verifier) {
			return nil, googleError(400, "invalid_grant", "Invalid code verifier.")
		}
	}
	c.redeemed = true
	g := c.grant
	at := s.issueAccessTokenLocked(g, msScopes{})
	var rt *refreshToken
	if c.issueRefresh {
		rt = s.issueRefreshTokenLocked(g)
	}
	return s.newGoogleTokenResponse(at, rt, true, c.nonce), nil
}

// googleRefreshLocked: Google refresh tokens do not rotate. Every reason a
// refresh token is dead gives the same answer.
func (s *Server) googleRefreshLocked(a *app, f url.Values) (any, *oauthError) {
	v := f.Get("refresh_token")
	if v == "" {
		return nil, googleError(400, "invalid_request", "Missing required parameter: refresh_token")
	}
	rt := s.refreshTokens[v]
	now := s.clock.Now()
	if rt == nil || rt.grant.provider != provider.Google {
		return nil, googleError(400, "invalid_grant", googleExpiredOrRevoked)
	}
	if rt.grant.app != a {
		return nil, googleError(401, "unauthorized_client", "Unauthorized")
	}
	g := rt.grant
	if rt.revoked || g.revoked || g.consentRevoked ||
		(a.Testing && now.Sub(rt.issuedAt) >= googleTestingRefreshLifetime) ||
		now.Sub(rt.lastUsed) >= googleRefreshInactivity {
		return nil, googleError(400, "invalid_grant", googleExpiredOrRevoked)
	}
	rt.lastUsed = now
	at := s.issueAccessTokenLocked(g, msScopes{})
	return s.newGoogleTokenResponse(at, rt, false, ""), nil
}

// handleGoogleRevoke is POST /google/revoke. Revoking either an access token
// or a refresh token removes the app's access: the whole grant, and with it
// every token of it, dies, and the next sign-in is a first consent again.
func (s *Server) handleGoogleRevoke(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		writeGoogleError(w, googleError(400, "invalid_request", "Bad Request"))
		return
	}
	tok := r.Form.Get("token")
	if tok == "" {
		writeGoogleError(w, googleError(400, "invalid_request", "Bad Request"))
		return
	}
	s.mu.Lock()
	g := s.liveGoogleGrantLocked(tok)
	if g != nil {
		s.revokeConsentLocked(g.app.ClientID, g.user.Email)
	}
	s.mu.Unlock()
	if g == nil {
		writeGoogleError(w, googleError(400, "invalid_token", "Token expired or revoked"))
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

// liveGoogleGrantLocked returns the grant of a live Google token of either
// kind, or nil.
func (s *Server) liveGoogleGrantLocked(tok string) *grant {
	now := s.clock.Now()
	if rt := s.refreshTokens[tok]; rt != nil && rt.grant.provider == provider.Google {
		if rt.revoked || rt.grant.revoked {
			return nil
		}
		return rt.grant
	}
	if at := s.accessTokens[tok]; at != nil && at.provider == provider.Google && at.grant != nil {
		if at.grant.revoked || !now.Before(at.expiresAt) {
			return nil
		}
		return at.grant
	}
	return nil
}

// newPending is an authorization request every provider keeps the same
// way until the user signs in; each adds its own scopes.
func newPending(prov provider.Type, a *app, r *http.Request, redirectURI, state, challenge, method, prompt string) *pendingAuth {
	q := r.URL.Query()
	return &pendingAuth{provider: prov, app: a, path: r.URL.Path, redirectURI: redirectURI, state: state,
		challenge: challenge, method: method, prompt: prompt, loginHint: q.Get("login_hint"), nonce: q.Get("nonce")}
}
