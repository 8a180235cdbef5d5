package idp

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// The standards issuer: an OAuth 2.0 / OpenID Connect server that follows
// the RFCs rather than a vendor, standing in for the independent servers
// admins meet behind "Other OAuth2 provider" (glewlwyd, node oidc-provider,
// Keycloak). Its issuer is {base}/std:
//
//	GET  /std/.well-known/openid-configuration           OIDC Discovery 1.0
//	GET  /.well-known/oauth-authorization-server/std     RFC 8414 (path inserted)
//	GET  /std/authorize, POST /std/authorize             sign-in and consent page
//	POST /std/token                                      code, refresh_token, device_code
//	POST /std/device                                     RFC 8628 device authorization
//	POST /std/revoke                                     RFC 7009
//	GET  /std/userinfo                                   OIDC userinfo
//
// Clients are registered with one token_endpoint_auth_method (App.AuthMethod),
// as with OIDC Dynamic Client Registration: a client_secret_basic client is
// refused when it sends its secret in the body, a client_secret_post one
// when it sends Basic, a public client ("none") when it sends a secret at
// all (and without PKCE at the authorization endpoint). Every endpoint that
// takes client authentication (token, device, revocation) checks it the
// same way; RFC 7009 §2.1 makes revocation no exception.
//
// StdOptions switch the behaviours some servers have and others not.

// StdOptions switch behaviours of the standards issuer.
type StdOptions struct {
	// RequireNonce refuses an authorization request that asks for openid
	// without a nonce (invalid_request), as some servers do even in the
	// code flow.
	RequireNonce bool
	// OIDCOffline is OpenID Connect Core §11: offline_access is honoured
	// only with prompt=consent, and a refresh token comes only with
	// offline_access granted. Off, the server is a plain OAuth2 one that
	// issues a refresh token with every code.
	OIDCOffline bool
	// Rotation makes every refresh return a new refresh token and spend
	// the old one.
	Rotation bool
	// EmptyErrors answers a refused grant (invalid_grant: a revoked,
	// spent or unknown refresh token) and failed client authentication
	// with HTTP 400 and an empty body, as glewlwyd does.
	EmptyErrors bool
	// NoOIDCDiscovery and NoRFC8414Discovery take one discovery document
	// away (404).
	NoOIDCDiscovery, NoRFC8414Discovery bool
	// AuthMethods, when set, is what discovery lists in
	// token_endpoint_auth_methods_supported (default: the three).
	AuthMethods []string
}

// stdPath is the issuer's path below the server's base URL.
const stdPath = "/std"

// stdDeviceLifetime is how long a device code lives.
const stdDeviceLifetime = 600 * time.Second

// stdScopes are the scopes the issuer knows: the OpenID ones and "mail",
// which the sandbox's mail servers (and Dovecot through introspection)
// accept.
var stdScopes = []string{"openid", "profile", "email", "offline_access", "mail"}

// SetStdOptions switches the standards issuer's behaviours.
func (s *Server) SetStdOptions(o StdOptions) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.std = o
	s.std.AuthMethods = append([]string(nil), o.AuthMethods...)
}

// StdIssuer is the standards issuer's identifier, {URL}/std.
func (s *Server) StdIssuer() string { return s.URL() + stdPath }

// AuthorizeRequests returns the query of every request that reached the
// standards issuer's authorization endpoint, in order.
func (s *Server) AuthorizeRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]url.Values, len(s.stdAuthorize))
	for i, q := range s.stdAuthorize {
		out[i] = cloneValues(q)
	}
	return out
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

// Revocation is one request that reached the standards issuer's
// revocation endpoint.
type Revocation struct {
	ClientID string
	Method   string // how the client authenticated: client_secret_basic, client_secret_post, none
	Status   int    // the HTTP status answered
	Outcome  string // "revoked", "unknown token" or the error code
}

// Revocations returns every revocation request, in order.
func (s *Server) Revocations() []Revocation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Revocation(nil), s.revocations...)
}

func (s *Server) stdRoutes(m *http.ServeMux) {
	m.HandleFunc("GET "+stdPath+"/.well-known/openid-configuration", s.handleStdDiscovery(true))
	m.HandleFunc("GET /.well-known/oauth-authorization-server"+stdPath, s.handleStdDiscovery(false))
	m.HandleFunc("GET "+stdPath+"/authorize", s.handleStdAuthorize)
	m.HandleFunc("POST "+stdPath+"/authorize", s.handleStdAuthorizeSubmit)
	m.HandleFunc("POST "+stdPath+"/token", s.handleStdToken)
	m.HandleFunc("POST "+stdPath+"/device", s.handleStdDevice)
	m.HandleFunc("POST "+stdPath+"/revoke", s.handleStdRevoke)
	m.HandleFunc("GET "+stdPath+"/userinfo", s.handleStdUserinfo)
	m.HandleFunc("GET "+stdPath+"/jwks", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{"keys": []any{}})
	})
}

// stdMetadata is the discovery document; oidc adds what only OpenID
// Connect defines.
func (s *Server) stdMetadata(r *http.Request, oidc bool) map[string]any {
	base := s.baseURL(r) + stdPath
	s.mu.Lock()
	methods := s.std.AuthMethods
	s.mu.Unlock()
	if len(methods) == 0 {
		methods = []string{"client_secret_basic", "client_secret_post", "none"}
	}
	doc := map[string]any{
		"issuer":                                     base,
		"authorization_endpoint":                     base + "/authorize",
		"token_endpoint":                             base + "/token",
		"device_authorization_endpoint":              base + "/device",
		"revocation_endpoint":                        base + "/revoke",
		"introspection_endpoint":                     s.baseURL(r) + "/introspect",
		"response_types_supported":                   []string{"code"},
		"response_modes_supported":                   []string{"query"},
		"grant_types_supported":                      []string{grantAuthorizationCode, grantRefreshToken, grantDeviceCode},
		"scopes_supported":                           stdScopes,
		"token_endpoint_auth_methods_supported":      methods,
		"revocation_endpoint_auth_methods_supported": methods,
		"code_challenge_methods_supported":           []string{"S256", "plain"},
	}
	if oidc {
		doc["userinfo_endpoint"] = base + "/userinfo"
		doc["jwks_uri"] = base + "/jwks"
		doc["subject_types_supported"] = []string{"public"}
		doc["id_token_signing_alg_values_supported"] = []string{"RS256"}
		doc["claims_supported"] = []string{"sub", "iss", "aud", "exp", "iat", "nonce", "email", "preferred_username"}
	}
	return doc
}

// handleStdDiscovery serves the OIDC discovery document (oidc) or the
// RFC 8414 one, unless the issuer is set to lack it.
func (s *Server) handleStdDiscovery(oidc bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		off := s.std.NoRFC8414Discovery
		if oidc {
			off = s.std.NoOIDCDiscovery
		}
		s.mu.Unlock()
		if off {
			http.NotFound(w, r)
			return
		}
		writeJSON(w, http.StatusOK, s.stdMetadata(r, oidc))
	}
}

// writeStdError writes an RFC 6749 §5.2 error, or the bare 400 of EmptyErrors.
func (s *Server) writeStdError(w http.ResponseWriter, e *oauthError) {
	s.mu.Lock()
	empty := s.std.EmptyErrors
	s.mu.Unlock()
	if empty && (e.code == "invalid_grant" || e.code == "invalid_client") {
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if e.status == http.StatusUnauthorized {
		// RFC 6749 §5.2: a 401 names the scheme the client used, or may use.
		w.Header().Set("WWW-Authenticate", `Basic realm="sandbox standards issuer"`)
	}
	writeGoogleError(w, e)
}

// stdClientLocked authenticates the client of a token, device or
// revocation request (RFC 6749 §2.3) and returns it with the method it
// used.
func (s *Server) stdClientLocked(r *http.Request) (*app, string, *oauthError) {
	user, pass, basic := r.BasicAuth()
	bodyID, bodySecret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	var id, sec, method string
	switch {
	case basic && bodySecret != "":
		return nil, "", googleError(400, "invalid_request", "the client authenticated in more than one way (RFC 6749 section 2.3)")
	case basic:
		id, sec, method = formUnescape(user), formUnescape(pass), "client_secret_basic"
		if bodyID != "" && bodyID != id {
			return nil, method, googleError(400, "invalid_request", "client_id differs from the Basic credentials")
		}
	case bodySecret != "":
		id, sec, method = bodyID, bodySecret, "client_secret_post"
	default:
		id, method = bodyID, "none"
	}
	fail := func(desc string) (*app, string, *oauthError) {
		return nil, method, googleError(401, "invalid_client", desc)
	}
	if id == "" {
		return fail("client authentication failed: no client identified")
	}
	a := s.apps[id]
	if a == nil || a.Provider != provider.Generic {
		return fail("client authentication failed: unknown client")
	}
	registered := a.AuthMethod
	if registered == "" {
		registered = "client_secret_basic"
	}
	switch {
	case registered == "none" && method != "none":
		return fail("this is a public client: it must not send a secret")
	case registered == "none":
		return a, method, nil
	case method == "none":
		return fail("client authentication required")
	case method != registered:
		return fail(fmt.Sprintf("this client authenticates with %s, not %s", registered, method))
	}
	now := s.clock.Now()
	for _, sc := range a.Secrets {
		if constantTimeEqual(sc.Value, sec) && (sc.Expires.IsZero() || now.Before(sc.Expires)) {
			return a, method, nil
		}
	}
	return fail("client authentication failed")
}

// parseStdScopes splits a scope parameter; unknown scopes are returned
// apart.
func parseStdScopes(raw string) (known, unknown []string) {
	for _, sc := range strings.Fields(raw) {
		switch {
		case !slices.Contains(stdScopes, sc):
			unknown = append(unknown, sc)
		case !slices.Contains(known, sc):
			known = append(known, sc)
		}
	}
	if len(known) == 0 && len(unknown) == 0 {
		known = []string{"mail"} // the default scope (RFC 6749 §3.3)
	}
	return known, unknown
}

// handleStdAuthorize is GET /std/authorize.
func (s *Server) handleStdAuthorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	s.stdAuthorize = append(s.stdAuthorize, cloneValues(r.URL.Query()))
	out := s.stdAuthorizeLocked(r)
	s.mu.Unlock()
	s.writeStdAuthOutcome(w, r, out)
}

func (s *Server) stdAuthorizeLocked(r *http.Request) authOutcome {
	q := r.URL.Query()
	a := s.apps[q.Get("client_id")]
	if a == nil || a.Provider != provider.Generic {
		return authOutcome{pageErr: googleError(400, "invalid_client", "unknown client_id")}
	}
	redirectURI := q.Get("redirect_uri")
	if !redirectURIAllowed(a.RedirectURIs, redirectURI) {
		return authOutcome{pageErr: googleError(400, "invalid_request", "redirect_uri is not registered for this client: "+redirectURI)}
	}
	state := q.Get("state")
	fail := func(code, desc string) authOutcome {
		v := url.Values{"error": {code}, "error_description": {desc}}
		if state != "" {
			v.Set("state", state)
		}
		return authOutcome{redirect: withQuery(redirectURI, v)}
	}
	if rt := q.Get("response_type"); rt != "code" {
		return fail("unsupported_response_type", "only response_type=code is supported")
	}
	scopes, unknown := parseStdScopes(q.Get("scope"))
	if len(unknown) > 0 {
		return fail("invalid_scope", "unknown scope: "+strings.Join(unknown, " "))
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && !validChallengeMethod(method) {
		return fail("invalid_request", "code_challenge_method must be S256 or plain")
	}
	if challenge == "" && a.AuthMethod == "none" {
		return fail("invalid_request", "a public client must send a PKCE code_challenge")
	}
	if s.std.RequireNonce && slices.Contains(scopes, "openid") && q.Get("nonce") == "" {
		return fail("invalid_request", "nonce is required with openid")
	}
	prompt := q.Get("prompt")
	if promptHas(prompt, "none") {
		return fail("login_required", "no user is signed in")
	}
	p := newPending(provider.Generic, a, r, redirectURI, state, challenge, method, prompt)
	p.std = scopes
	s.newPendingLocked(p)
	return authOutcome{pending: p, email: p.loginHint}
}

// stdOffline decides whether a sign-in with these scopes and prompt gets a
// refresh token, and which scopes are granted.
func (s *Server) stdOfflineLocked(scopes []string, prompt string, consented bool) (granted []string, offline bool) {
	if !s.std.OIDCOffline {
		return scopes, true
	}
	offline = slices.Contains(scopes, "offline_access") && (consented || promptHas(prompt, "consent"))
	if offline {
		return scopes, true
	}
	return slices.DeleteFunc(slices.Clone(scopes), func(sc string) bool { return sc == "offline_access" }), false
}

// handleStdAuthorizeSubmit is the sign-in page's form POST.
func (s *Server) handleStdAuthorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	out := s.stdAuthorizeSubmitLocked(r.PostForm)
	s.mu.Unlock()
	s.writeStdAuthOutcome(w, r, out)
}

func (s *Server) stdAuthorizeSubmitLocked(f url.Values) authOutcome {
	p := s.pendingLocked(f.Get("request"), provider.Generic)
	if p == nil {
		return authOutcome{pageErr: googleError(400, "invalid_request", "This sign-in page has expired or was already used.")}
	}
	email := strings.TrimSpace(f.Get("email"))
	redirect := func(v url.Values) authOutcome {
		if p.state != "" {
			v.Set("state", p.state)
		}
		return authOutcome{redirect: withQuery(p.redirectURI, v)}
	}
	switch f.Get("action") {
	case "cancel":
		delete(s.pending, p.id)
		return redirect(url.Values{"error": {"access_denied"}, "error_description": {"the user declined"}})
	case "accept":
	default:
		return authOutcome{pending: p, formErr: "Choose Accept or Cancel.", email: email}
	}
	u, ok := s.checkCredentialsLocked(provider.Generic, email, f.Get("password"))
	if msg := signInProblem(provider.Generic, u, ok, nil); msg != "" {
		return authOutcome{pending: p, formErr: msg, email: email}
	}
	delete(s.pending, p.id)
	g := s.newGrantLocked(provider.Generic, p.app, u, "")
	g.std, g.offline = s.stdOfflineLocked(p.std, p.prompt, false)
	code := s.issueCodeLocked(g, p, g.offline)
	return redirect(url.Values{"code": {code.value}})
}

func (s *Server) writeStdAuthOutcome(w http.ResponseWriter, r *http.Request, out authOutcome) {
	switch {
	case out.pageErr != nil:
		s.render(w, out.pageErr.status, "error.html", errorData{
			pageMeta: pageMeta{Title: "Error", Brand: provider.Generic},
			Heading:  "The request was refused",
			Lead:     out.pageErr.code,
			Message:  out.pageErr.desc,
		})
	case out.redirect != "":
		http.Redirect(w, r, out.redirect, http.StatusFound)
	default:
		p := out.pending
		s.render(w, http.StatusOK, "signin.html", signInData{
			pageMeta:    pageMeta{Title: "Sign in", Brand: provider.Generic},
			Heading:     "Sign in",
			AppName:     p.app.Name,
			Scopes:      stdConsentLines(p.std),
			Action:      p.path,
			Hidden:      []hiddenField{{"request", p.id}},
			Email:       out.email,
			Error:       out.formErr,
			AcceptLabel: "Accept",
		})
	}
}

func stdConsentLines(scopes []string) []scopeLine {
	desc := map[string]string{
		"openid": "Sign you in", "profile": "See your user name", "email": "See your email address",
		"offline_access": "Keep access while you are away", "mail": "Read and send your mail",
	}
	var out []scopeLine
	for _, sc := range scopes {
		out = append(out, scopeLine{sc, desc[sc]})
	}
	return out
}

// stdTokenResponse is a token answer as standards servers write it: a
// lower-case token type and the time of issue among the fields (both seen
// at glewlwyd).
type stdTokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	IDToken      string `json:"id_token,omitempty"`
	IssuedAt     int64  `json:"iat"`
}

func (s *Server) newStdTokenResponse(at *accessToken, rt *refreshToken, nonce string) stdTokenResponse {
	resp := stdTokenResponse{
		AccessToken: at.value, TokenType: "bearer", ExpiresIn: expiresIn(at), Scope: at.scope,
		IDToken: s.idTokenLocked(at.grant, nonce), IssuedAt: at.issuedAt.Unix(),
	}
	if rt != nil {
		resp.RefreshToken = rt.value
	}
	return resp
}

// handleStdToken is POST /std/token.
func (s *Server) handleStdToken(w http.ResponseWriter, r *http.Request) {
	s.serveToken(w, r, "bad form", s.stdTokenLocked, s.writeStdError)
}

func (s *Server) stdTokenLocked(r *http.Request) (any, *oauthError) {
	f := r.PostForm
	gt := f.Get("grant_type")
	s.recordTokenRequestLocked(gt)
	switch gt {
	case grantAuthorizationCode, grantRefreshToken, grantDeviceCode:
	default:
		return nil, googleError(400, "unsupported_grant_type", "unsupported grant_type: "+gt)
	}
	a, _, e := s.stdClientLocked(r)
	if e == nil {
		switch gt {
		case grantAuthorizationCode:
			return s.stdRedeemCodeLocked(a, f)
		case grantDeviceCode:
			return s.stdPollDeviceLocked(a, f)
		}
	}
	id := f.Get("client_id")
	if a != nil {
		id = a.ClientID
	}
	var resp any
	if e == nil {
		resp, e = s.stdRefreshLocked(a, f)
	}
	s.recordRefreshLocked(provider.Generic, id, f.Get("refresh_token"), e)
	return resp, e
}

func (s *Server) stdRedeemCodeLocked(a *app, f url.Values) (any, *oauthError) {
	c := s.codes[f.Get("code")]
	if c == nil || c.grant.provider != provider.Generic || c.grant.app != a || c.redeemed || c.grant.revoked ||
		s.clock.Now().Sub(c.issuedAt) >= codeLifetime {
		return nil, googleError(400, "invalid_grant", "the code is unknown, spent, expired or another client's")
	}
	if f.Get("redirect_uri") != c.redirectURI {
		return nil, googleError(400, "invalid_grant", "redirect_uri differs from the authorization request's")
	}
	if c.challenge != "" && !pkceValid(c.challenge, c.method, f.Get("code_verifier")) {
		return nil, googleError(400, "invalid_grant", "PKCE verification failed")
	}
	c.redeemed = true
	at := s.issueAccessTokenLocked(c.grant, msScopes{})
	var rt *refreshToken
	if c.grant.offline {
		rt = s.issueRefreshTokenLocked(c.grant)
	}
	return s.newStdTokenResponse(at, rt, c.nonce), nil
}

func (s *Server) stdRefreshLocked(a *app, f url.Values) (any, *oauthError) {
	rt := s.refreshTokens[f.Get("refresh_token")]
	if rt == nil || rt.grant.provider != provider.Generic || rt.grant.app != a || rt.rotated || rt.revoked || rt.grant.revoked {
		return nil, googleError(400, "invalid_grant", "the refresh token is invalid, revoked or spent")
	}
	rt.lastUsed = s.clock.Now()
	at := s.issueAccessTokenLocked(rt.grant, msScopes{})
	var next *refreshToken
	if s.std.Rotation {
		rt.rotated = true
		next = s.issueRefreshTokenLocked(rt.grant)
	}
	return s.newStdTokenResponse(at, next, ""), nil
}

// handleStdDevice is POST /std/device (RFC 8628 §3.1): client
// authentication as at the token endpoint.
func (s *Server) handleStdDevice(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		writeGoogleError(w, googleError(400, "invalid_request", "bad form"))
		return
	}
	base := s.baseURL(r)
	s.mu.Lock()
	resp, e := s.stdDeviceLocked(r, base)
	s.mu.Unlock()
	if e != nil {
		s.writeStdError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// stdDeviceResponse is RFC 8628 §3.2's answer.
type stdDeviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int    `json:"interval"`
}

func (s *Server) stdDeviceLocked(r *http.Request, base string) (any, *oauthError) {
	a, _, e := s.stdClientLocked(r)
	if e != nil {
		return nil, e
	}
	scopes, unknown := parseStdScopes(r.PostForm.Get("scope"))
	if len(unknown) > 0 {
		return nil, googleError(400, "invalid_scope", "unknown scope: "+strings.Join(unknown, " "))
	}
	d := s.newDeviceLocked(provider.Generic, a, stdDeviceLifetime)
	d.std = scopes
	return stdDeviceResponse{
		DeviceCode:              d.deviceCode,
		UserCode:                d.displayUserCode(),
		VerificationURI:         base + "/devicelogin",
		VerificationURIComplete: base + "/devicelogin?user_code=" + url.QueryEscape(d.displayUserCode()),
		ExpiresIn:               int64(stdDeviceLifetime / time.Second),
		Interval:                s.deviceInterval,
	}, nil
}

// stdPollDeviceLocked is the device_code grant with RFC 8628 §3.5's
// errors, all HTTP 400.
func (s *Server) stdPollDeviceLocked(a *app, f url.Values) (any, *oauthError) {
	d := s.devices[f.Get("device_code")]
	if d == nil || d.provider != provider.Generic || d.app != a {
		return nil, googleError(400, "invalid_grant", "unknown device_code")
	}
	switch s.pollDeviceLocked(d) {
	case pollExpired:
		return nil, googleError(400, "expired_token", "the device code expired")
	case pollSlowDown:
		return nil, googleError(400, "slow_down", "polling too fast")
	case pollPending:
		return nil, googleError(400, "authorization_pending", "the user has not finished yet")
	case pollDeclined:
		return nil, googleError(400, "access_denied", "the user declined")
	case pollRedeemed:
		return nil, googleError(400, "invalid_grant", "the device code was already used")
	}
	g := d.grant
	at := s.issueAccessTokenLocked(g, msScopes{})
	var rt *refreshToken
	if g.offline {
		rt = s.issueRefreshTokenLocked(g)
	}
	return s.newStdTokenResponse(at, rt, ""), nil
}

// handleStdRevoke is POST /std/revoke (RFC 7009): the client
// authenticates, the token must be its own; an unknown token is success
// (§2.2). Revoking a refresh token ends its whole grant, access tokens
// included.
func (s *Server) handleStdRevoke(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		writeGoogleError(w, googleError(400, "invalid_request", "bad form"))
		return
	}
	s.mu.Lock()
	rec, e := s.stdRevokeLocked(r)
	if e != nil {
		rec.Outcome, rec.Status = e.code, e.status
	} else {
		rec.Status = http.StatusOK
	}
	s.revocations = append(s.revocations, rec)
	s.mu.Unlock()
	if e != nil {
		s.writeStdError(w, e)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func (s *Server) stdRevokeLocked(r *http.Request) (Revocation, *oauthError) {
	a, method, e := s.stdClientLocked(r)
	rec := Revocation{ClientID: r.PostForm.Get("client_id"), Method: method}
	if e != nil {
		return rec, e
	}
	rec.ClientID = a.ClientID
	tok := r.PostForm.Get("token")
	if tok == "" {
		return rec, googleError(400, "invalid_request", "token is required")
	}
	var g *grant
	if rt := s.refreshTokens[tok]; rt != nil && rt.grant.provider == provider.Generic {
		g = rt.grant
	} else if at := s.accessTokens[tok]; at != nil && at.provider == provider.Generic && at.grant != nil {
		g = at.grant
	}
	if g == nil || g.revoked {
		rec.Outcome = "unknown token"
		return rec, nil
	}
	if g.app != a {
		return rec, googleError(400, "unauthorized_client", "the token was issued to another client")
	}
	g.revoked = true
	rec.Outcome = "revoked"
	return rec, nil
}

// handleStdUserinfo is GET /std/userinfo: who the bearer access token's
// grant signed in as, by the scopes granted.
func (s *Server) handleStdUserinfo(w http.ResponseWriter, r *http.Request) {
	bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	var g *grant
	if t := s.accessTokens[bearer]; ok && t != nil && t.grant != nil && t.provider == provider.Generic &&
		!t.grant.revoked && s.clock.Now().Before(t.expiresAt) {
		g = t.grant
	}
	s.mu.Unlock()
	if g == nil {
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "invalid_token"})
		return
	}
	openid, email, profile := openIDScopes(g)
	if !openid {
		w.Header().Set("WWW-Authenticate", `Bearer error="insufficient_scope"`)
		writeJSON(w, http.StatusForbidden, map[string]string{"error": "insufficient_scope"})
		return
	}
	out := map[string]any{"sub": subject(g)}
	if email {
		out["email"], out["email_verified"] = g.user.Email, true
	}
	if profile {
		out["preferred_username"] = g.user.Email
	}
	writeJSON(w, http.StatusOK, out)
}
