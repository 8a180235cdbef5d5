package idp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// Microsoft identity platform v2: /{tenant}/oauth2/v2.0/authorize and
// /{tenant}/oauth2/v2.0/token. The device endpoint is in device.go.

// tenantKind is what the {tenant} path segment names.
type tenantKind int

const (
	tenantCommon        tenantKind = iota // work accounts of any tenant (and, for real, personal ones)
	tenantOrganizations                   // work accounts of any tenant
	tenantConsumers                       // personal Microsoft accounts only
	tenantSpecific                        // one tenant, by GUID or verified domain
)

// consumersTenantID is the directory of personal Microsoft accounts, which
// Microsoft names in errors for /consumers.
const consumersTenantID = "9188040d-6c67-4c5b-b112-36a304b66dad"

// msTenantPath is a resolved {tenant} segment.
type msTenantPath struct {
	raw    string
	kind   tenantKind
	tenant *Tenant // for tenantSpecific
}

func (s *Server) resolveTenantLocked(seg string) (msTenantPath, *oauthError) {
	tp := msTenantPath{raw: seg}
	switch strings.ToLower(seg) {
	case "common":
		tp.kind = tenantCommon
	case "organizations":
		tp.kind = tenantOrganizations
	case "consumers":
		tp.kind = tenantConsumers
	default:
		tp.kind = tenantSpecific
		tp.tenant = s.tenants[strings.ToLower(seg)]
		if tp.tenant == nil {
			for _, t := range s.tenants {
				if strings.EqualFold(t.Domain, seg) {
					tp.tenant = t
					break
				}
			}
		}
		if tp.tenant == nil {
			return tp, msTenantNotFound(seg)
		}
	}
	return tp, nil
}

// tenantPathOf rebuilds the tenant path a sign-in page or device code was
// requested through (nil = common or organizations).
func tenantPathOf(t *Tenant) msTenantPath {
	if t == nil {
		return msTenantPath{raw: "common", kind: tenantCommon}
	}
	return msTenantPath{raw: t.ID, kind: tenantSpecific, tenant: t}
}

// msClientLocked finds the app a request names and checks that it may be
// used through this tenant path: a single-tenant app only through its own
// tenant (AADSTS50194 on /common and /organizations, AADSTS700016 through
// another tenant), no app through /consumers (the sandbox has no personal
// accounts).
func (s *Server) msClientLocked(tp msTenantPath, clientID string) (*app, *oauthError) {
	a := s.apps[clientID]
	if a == nil || a.Provider != provider.Microsoft {
		return nil, msAppNotFound(clientID, tp.raw)
	}
	switch tp.kind {
	case tenantConsumers:
		return nil, msAppNotFound(clientID, consumersTenantID)
	case tenantCommon, tenantOrganizations:
		if !a.MultiTenant {
			return nil, msNotMultiTenant(a)
		}
	case tenantSpecific:
		if !a.MultiTenant && !strings.EqualFold(a.Tenant, tp.tenant.ID) {
			return nil, msAppNotFound(clientID, tp.raw)
		}
	}
	return a, nil
}

// msUserAllowedLocked checks that the user may sign in to the app through
// this tenant path: through a tenant-specific path only that tenant's users;
// through /common or /organizations (multi-tenant apps only) anyone.
func (s *Server) msUserAllowedLocked(a *app, tp msTenantPath, u *user) *oauthError {
	if tp.kind != tenantSpecific || strings.EqualFold(u.Tenant, tp.tenant.ID) {
		return nil
	}
	return msErrorf(400, "invalid_request", 50020, "User account '{EmailHidden}' from identity provider 'https://sts.windows.net/%s/' does not exist in tenant '%s' and cannot access the application '%s'(%s) in that tenant. The account needs to be added as an external user in the tenant first. Sign out and sign in again with a different Azure Active Directory user account.",
		u.Tenant, tp.tenant.Domain, a.ClientID, a.Name)
}

// msConsentAllowedLocked applies the tenant's consent policy: where user
// consent is disabled only an admin's consent, or an earlier consent of the
// same scopes, lets the user through.
func (s *Server) msConsentAllowedLocked(a *app, u *user, ms msScopes) bool {
	t := s.tenants[strings.ToLower(u.Tenant)]
	if t == nil || !t.UserConsentDisabled {
		return true
	}
	if s.adminConsent[adminConsentKey{a.ClientID, strings.ToLower(u.Tenant)}] {
		return true
	}
	c := s.consents[newConsentKey(a.ClientID, u.Email)]
	if c == nil {
		return false
	}
	for _, q := range ms.qualified() {
		if !c.scopes[q] {
			return false
		}
	}
	return true
}

// authOutcome is what an authorize request leads to: an error page (no
// redirect, because the redirect URI cannot be trusted), a redirect to the
// client, or the sign-in page.
type authOutcome struct {
	pageErr  *oauthError
	redirect string
	pending  *pendingAuth
	formErr  string // shown on the sign-in page, which stays
	email    string // prefilled on the sign-in page
}

// msRedirectError sends an error to the client's redirect URI, with the
// AADSTS text and trace lines in error_description as Microsoft does.
func (s *Server) msRedirectError(r *http.Request, redirectURI, state string, e *oauthError, subcode string) string {
	v := url.Values{}
	v.Set("error", e.code)
	v.Set("error_description", e.fullDescription(s.newMSTrace(r)))
	if subcode != "" {
		v.Set("error_subcode", subcode)
	}
	if state != "" {
		v.Set("state", state)
	}
	return withQuery(redirectURI, v)
}

// handleMSAuthorize is GET /{tenant}/oauth2/v2.0/authorize.
func (s *Server) handleMSAuthorize(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	out := s.msAuthorizeLocked(r)
	s.mu.Unlock()
	s.writeMSAuthOutcome(w, r, out)
}

func (s *Server) msAuthorizeLocked(r *http.Request) authOutcome {
	q := r.URL.Query()
	tp, e := s.resolveTenantLocked(r.PathValue("tenant"))
	if e != nil {
		return authOutcome{pageErr: e}
	}
	clientID := q.Get("client_id")
	if clientID == "" {
		return authOutcome{pageErr: msMissingParam("client_id")}
	}
	a, e := s.msClientLocked(tp, clientID)
	if e != nil {
		return authOutcome{pageErr: e}
	}
	// Until the redirect URI is known to be registered, errors stay on the
	// page: redirecting to an unchecked URI would make this an open redirect.
	redirectURI := q.Get("redirect_uri")
	switch {
	case len(a.RedirectURIs) == 0:
		return authOutcome{pageErr: msErrorf(400, "invalid_request", 500113, "No reply address is registered for the application.")}
	case redirectURI == "":
		return authOutcome{pageErr: msErrorf(400, "invalid_request", 900971, "No reply address provided.")}
	case !redirectURIAllowed(a.RedirectURIs, redirectURI):
		return authOutcome{pageErr: msErrorf(400, "invalid_request", 50011, "The redirect URI '%s' specified in the request does not match the redirect URIs configured for the application '%s'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal. Navigate to https://aka.ms/redirectUriMismatchError to learn more about how to fix this.", redirectURI, a.ClientID)}
	}

	state := q.Get("state")
	fail := func(e *oauthError) authOutcome {
		return authOutcome{redirect: s.msRedirectError(r, redirectURI, state, e, "")}
	}
	switch rt := q.Get("response_type"); rt {
	case "code":
	case "":
		return fail(msMissingParam("response_type"))
	default:
		return fail(msErrorf(400, "unsupported_response_type", 70005, "response_type '%s' is not enabled for the application.", rt))
	}
	ms, e := parseMSScopes(q.Get("scope"))
	if e != nil {
		return fail(e)
	}
	challenge, method := q.Get("code_challenge"), q.Get("code_challenge_method")
	if challenge != "" && !validChallengeMethod(method) {
		return fail(msErrorf(400, "invalid_request", 9002313, "Invalid request. The code_challenge_method '%s' is not supported; use S256.", method))
	}
	prompt := q.Get("prompt")
	if promptHas(prompt, "none") {
		// The sandbox keeps no browser session, so a silent request can
		// never succeed.
		return fail(msErrorf(400, "login_required", 50058, "A silent sign-in request was sent but no user is signed in."))
	}
	p := newPending(provider.Microsoft, a, r, redirectURI, state, challenge, method, prompt)
	p.pathTenant, p.ms = tp.tenant, ms
	s.newPendingLocked(p)
	return authOutcome{pending: p, email: p.loginHint}
}

// handleMSAuthorizeSubmit is the sign-in page's form POST.
func (s *Server) handleMSAuthorizeSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.renderMSErrorPage(w, r, msMalformed())
		return
	}
	s.mu.Lock()
	out := s.msAuthorizeSubmitLocked(r)
	s.mu.Unlock()
	s.writeMSAuthOutcome(w, r, out)
}

func (s *Server) msAuthorizeSubmitLocked(r *http.Request) authOutcome {
	f := r.PostForm
	p := s.pendingLocked(f.Get("request"), provider.Microsoft)
	if p == nil {
		return authOutcome{pageErr: &oauthError{status: 400, code: "invalid_request", desc: "This sign-in page has expired or was already used. Start the sign-in again from the application."}}
	}
	email := strings.TrimSpace(f.Get("email"))
	retry := func(msg string) authOutcome { return authOutcome{pending: p, formErr: msg, email: email} }
	tp := tenantPathOf(p.pathTenant)

	switch f.Get("action") {
	case "cancel":
		delete(s.pending, p.id)
		e := msErrorf(400, "access_denied", 65004, "User declined to consent to access the app.")
		return authOutcome{redirect: s.msRedirectError(r, p.redirectURI, p.state, e, "cancel")}
	case "accept":
	default:
		return retry("Choose Accept or Cancel.")
	}

	u, ok := s.checkCredentialsLocked(provider.Microsoft, email, f.Get("password"))
	if msg := signInProblem(provider.Microsoft, u, ok, p.pathTenant); msg != "" {
		return retry(msg)
	}
	if e := s.msUserAllowedLocked(p.app, tp, u); e != nil {
		return retry(fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.desc))
	}
	delete(s.pending, p.id)
	if !s.msConsentAllowedLocked(p.app, u, p.ms) {
		// "Need admin approval": the user cannot consent in this tenant.
		e := msErrorf(400, "consent_required", 65001, "The user or administrator has not consented to use the application with ID '%s' named '%s'. Send an interactive authorization request for this user and resource. (Need admin approval: this tenant does not allow users to consent to apps.)", p.app.ClientID, p.app.Name)
		return authOutcome{redirect: s.msRedirectError(r, p.redirectURI, p.state, e, "")}
	}
	g := s.msGrantLocked(p.app, u, p.ms)
	code := s.issueCodeLocked(g, p, false)
	v := url.Values{"code": {code.value}, "session_state": {g.id}}
	if p.state != "" {
		v.Set("state", p.state)
	}
	return authOutcome{redirect: withQuery(p.redirectURI, v)}
}

// msGrantLocked records a successful Microsoft sign-in and the consent it
// gave.
func (s *Server) msGrantLocked(a *app, u *user, ms msScopes) *grant {
	g := s.newGrantLocked(provider.Microsoft, a, u, u.Tenant)
	g.ms = ms
	g.offline = ms.offline
	c := s.consentLocked(a, u)
	for _, q := range ms.qualified() {
		c.scopes[q] = true
	}
	return g
}

func (s *Server) writeMSAuthOutcome(w http.ResponseWriter, r *http.Request, out authOutcome) {
	switch {
	case out.pageErr != nil:
		s.renderMSErrorPage(w, r, out.pageErr)
	case out.redirect != "":
		http.Redirect(w, r, out.redirect, http.StatusFound)
	default:
		p := out.pending
		s.render(w, http.StatusOK, "signin.html", signInData{
			pageMeta:    pageMeta{Title: "Sign in to your account", Brand: provider.Microsoft},
			Heading:     "Sign in",
			AppName:     p.app.Name,
			Scopes:      p.ms.consentLines(),
			Action:      p.path,
			Hidden:      []hiddenField{{"request", p.id}},
			Email:       out.email,
			Error:       out.formErr,
			AcceptLabel: "Accept",
			Note:        "Accepting allows this app to use your data as specified in their terms of service and privacy statement.",
		})
	}
}

// msTokenResponse is a successful Microsoft token response, fields in the
// order Microsoft sends them.
type msTokenResponse struct {
	TokenType    string `json:"token_type"`
	Scope        string `json:"scope,omitempty"`
	ExpiresIn    int64  `json:"expires_in"`
	ExtExpiresIn int64  `json:"ext_expires_in"`
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token,omitempty"`
	IDToken      string `json:"id_token,omitempty"` // with openid (idtoken.go)
}

func newMSTokenResponse(at *accessToken, scope string, rt *refreshToken) msTokenResponse {
	resp := msTokenResponse{
		TokenType:    "Bearer",
		Scope:        scope,
		ExpiresIn:    expiresIn(at),
		ExtExpiresIn: expiresIn(at),
		AccessToken:  at.value,
	}
	if rt != nil {
		resp.RefreshToken = rt.value
	}
	return resp
}

const (
	grantAuthorizationCode = "authorization_code"
	grantRefreshToken      = "refresh_token"
	grantClientCredentials = "client_credentials"
	grantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// handleMSToken is POST /{tenant}/oauth2/v2.0/token.
func (s *Server) handleMSToken(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeMSError(w, r, msMalformed())
		return
	}
	s.mu.Lock()
	resp, e := s.msTokenLocked(r)
	s.mu.Unlock()
	if e != nil {
		s.writeMSError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// handleMSTokenGet answers a GET on the token endpoint the way Microsoft
// does — with an AADSTS error rather than a bare 405 — since a browser or a
// misconfigured client is the usual sender.
func (s *Server) handleMSTokenGet(w http.ResponseWriter, r *http.Request) {
	s.writeMSError(w, r, msErrorf(400, "invalid_request", 900561, "The endpoint only accepts POST, OPTIONS requests. Received a GET request."))
}

func (s *Server) msTokenLocked(r *http.Request) (any, *oauthError) {
	f := r.PostForm
	gt := f.Get("grant_type")
	if gt == "" {
		return nil, msMissingParam("grant_type")
	}
	s.recordTokenRequestLocked(gt)
	ca, ok := readClientAuth(r)
	if !ok {
		return nil, msMalformed()
	}
	resp, e := s.msGrantTypeLocked(r, gt, ca)
	if gt == grantRefreshToken {
		s.recordRefreshLocked(provider.Microsoft, ca.id, f.Get("refresh_token"), e)
	}
	return resp, e
}

// recordRefreshLocked notes a refresh attempt for Refreshes().
func (s *Server) recordRefreshLocked(f provider.Type, clientID, token string, e *oauthError) {
	rec := RefreshRecord{Provider: f, ClientID: clientID, RefreshToken: token, At: s.clock.Now(), Outcome: "ok"}
	if e != nil {
		rec.Outcome, rec.AADSTS = e.code, e.aadsts
	}
	s.refreshes = append(s.refreshes, rec)
}

func (s *Server) msGrantTypeLocked(r *http.Request, gt string, ca clientAuth) (any, *oauthError) {
	switch gt {
	case grantAuthorizationCode, grantRefreshToken, grantClientCredentials, grantDeviceCode:
	default:
		return nil, msErrorf(400, "unsupported_grant_type", 70003, "The app requested an unsupported grant type '%s'.", gt)
	}
	tp, e := s.resolveTenantLocked(r.PathValue("tenant"))
	if e != nil {
		return nil, e
	}
	if ca.id == "" {
		return nil, msMissingParam("client_id")
	}
	a, e := s.msClientLocked(tp, ca.id)
	if e != nil {
		return nil, e
	}
	// Confidential apps must prove themselves on every grant; apps with
	// "Allow public client flows" may omit the secret on delegated grants.
	needSecret := gt == grantClientCredentials || !a.AllowPublicClient
	if ca.assertionSent() {
		if e := s.msCheckAssertionLocked(r, a, ca); e != nil {
			return nil, e
		}
	} else if e := s.msCheckSecretLocked(a, ca, needSecret); e != nil {
		return nil, e
	}
	f := r.PostForm
	switch gt {
	case grantAuthorizationCode:
		return s.msRedeemCodeLocked(tp, a, f)
	case grantRefreshToken:
		return s.msRefreshLocked(tp, a, f)
	case grantDeviceCode:
		return s.msPollDeviceLocked(a, f)
	default:
		return s.msClientCredentialsLocked(tp, a, f)
	}
}

// msCheckSecretLocked authenticates the client. A wrong secret is
// AADSTS7000215, an expired one AADSTS7000222, a missing one AADSTS7000218
// — all 401 invalid_client.
func (s *Server) msCheckSecretLocked(a *app, ca clientAuth, need bool) *oauthError {
	if !ca.secretSent {
		if need {
			return msErrorf(401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		}
		return nil
	}
	if len(a.Secrets) == 0 && a.AllowPublicClient {
		return msErrorf(401, "invalid_client", 700025, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
	}
	now := s.clock.Now()
	expired := false
	for _, sec := range a.Secrets {
		if constantTimeEqual(sec.Value, ca.secret) {
			if sec.Expires.IsZero() || now.Before(sec.Expires) {
				return nil
			}
			expired = true
		}
	}
	if expired {
		return msErrorf(401, "invalid_client", 7000222, "The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds.", a.ClientID)
	}
	return msErrorf(401, "invalid_client", 7000215, "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", a.ClientID)
}

// msRedeemCodeLocked is the authorization_code grant: single-use codes that
// live 10 minutes, bound to client, tenant, redirect URI and PKCE challenge.
func (s *Server) msRedeemCodeLocked(tp msTenantPath, a *app, f url.Values) (any, *oauthError) {
	v := f.Get("code")
	if v == "" {
		return nil, msMissingParam("code")
	}
	c := s.codes[v]
	if c == nil || c.grant.provider != provider.Microsoft {
		if looksLikeMSCode(v) {
			return nil, msErrorf(400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid.")
		}
		return nil, msErrorf(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	}
	g := c.grant
	switch {
	case g.app != a:
		return nil, msErrorf(400, "invalid_grant", 70000, "The provided value for the 'code' parameter is not valid. The code was issued to a different client.")
	case tp.kind == tenantSpecific && !strings.EqualFold(tp.tenant.ID, g.tenantID):
		return nil, msErrorf(400, "invalid_grant", 700005, "Provided Authorization Code is intended to use against other tenant, thus rejected.")
	case c.redeemed:
		return nil, msErrorf(400, "invalid_grant", 54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
	case s.clock.Now().Sub(c.issuedAt) >= codeLifetime:
		return nil, msErrorf(400, "invalid_grant", 70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.")
	}
	ru := f.Get("redirect_uri")
	if ru == "" {
		return nil, msMissingParam("redirect_uri")
	}
	if ru != c.redirectURI {
		return nil, msErrorf(400, "invalid_grant", 500112, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.", ru, c.redirectURI)
	}
	if c.challenge != "" {
		verifier := f.Get("code_verifier")
		if verifier == "" {
			return nil, msMissingParam("code_verifier")
		}
		if !pkceValid(c.challenge, c.method, verifier) {
			return nil, msErrorf(400, "invalid_grant", 501481, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
		}
	}
	c.redeemed = true
	at := s.issueAccessTokenLocked(g, g.ms)
	var rt *refreshToken
	if g.offline {
		rt = s.issueRefreshTokenLocked(g)
	}
	resp := newMSTokenResponse(at, g.ms.granted(), rt)
	resp.IDToken = s.idTokenLocked(g, c.nonce)
	return resp, nil
}

// msRefreshLocked is the refresh_token grant. The checks mirror the reasons
// a real refresh fails, each with its own AADSTS code.
func (s *Server) msRefreshLocked(tp msTenantPath, a *app, f url.Values) (any, *oauthError) {
	v := f.Get("refresh_token")
	if v == "" {
		return nil, msMissingParam("refresh_token")
	}
	now := s.clock.Now()
	rt := s.refreshTokens[v]
	if rt == nil || rt.grant.provider != provider.Microsoft {
		if looksLikeMSRefreshToken(v) {
			return nil, msErrorf(400, "invalid_grant", 70000, "Provided grant is invalid or malformed.")
		}
		return nil, msErrorf(400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	}
	g := rt.grant
	switch {
	case g.app != a:
		return nil, msErrorf(400, "invalid_grant", 70000, "Provided grant is invalid or malformed. The refresh token was issued to a different client.")
	case tp.kind == tenantSpecific && !strings.EqualFold(tp.tenant.ID, g.tenantID):
		return nil, msErrorf(400, "invalid_grant", 700005, "Provided refresh token is intended to use against other tenant, thus rejected.")
	case rt.rotated:
		// Stricter than Microsoft, which tolerates a replaced refresh token
		// for a while: the sandbox rejects it so that a client spending one
		// refresh token twice is caught in tests.
		return nil, msErrorf(400, "invalid_grant", 70000, "Provided grant is invalid or malformed. The refresh token was already redeemed and replaced by a newer one; store the refresh token of every response.")
	case now.Sub(rt.lastUsed) >= s.refreshInactivity:
		return nil, msErrorf(400, "invalid_grant", 700082, "The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.", msLongTime(rt.issuedAt), msTimeSpan(s.refreshInactivity))
	case g.consentRevoked:
		return nil, msConsentMissing(a)
	case s.mfaSince[strings.ToLower(g.user.Email)] > g.signInSeq:
		e := msErrorf(400, "invalid_grant", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'.", g.ms.resource.appID)
		e.suberror = "basic_action"
		return nil, e
	case s.signInFrequency > 0 && now.Sub(g.signInAt) > s.signInFrequency:
		e := msErrorf(400, "invalid_grant", 70043, "The refresh token has expired or is invalid due to sign-in frequency checks by conditional access. The token was issued on %s and the maximum allowed lifetime for this request is %d.", msLongTime(g.signInAt), int64(s.signInFrequency/time.Second))
		e.suberror = "bad_token"
		return nil, e
	}

	// A refresh may ask for another resource the user has consented to: a
	// Microsoft refresh token is not tied to the audience of the first
	// access token.
	ms := g.ms
	if raw := f.Get("scope"); raw != "" {
		var e *oauthError
		if ms, e = parseMSScopes(raw); e != nil {
			return nil, e
		}
		c := s.consents[newConsentKey(a.ClientID, g.user.Email)]
		for _, q := range ms.qualified() {
			if c == nil || !c.scopes[q] {
				return nil, msConsentMissing(a)
			}
		}
	}
	at := s.issueAccessTokenLocked(g, ms)
	next := rt
	if s.rotation {
		rt.rotated = true
		next = s.issueRefreshTokenLocked(g)
	} else {
		rt.lastUsed = now
	}
	resp := newMSTokenResponse(at, ms.granted(), next)
	resp.IDToken = s.idTokenLocked(g, "")
	return resp, nil
}

// msClientCredentialsLocked is the client_credentials grant: an app-only
// token for "<resource>/.default", through a tenant-specific URL, never with
// a refresh token.
func (s *Server) msClientCredentialsLocked(tp msTenantPath, a *app, f url.Values) (any, *oauthError) {
	res, resURI, e := parseMSDefaultScope(f.Get("scope"))
	if e != nil {
		return nil, e
	}
	if tp.kind != tenantSpecific {
		return nil, msErrorf(400, "invalid_request", 50059, "No tenant-identifying information found in either the request or implied by any provided credentials.")
	}
	at := s.issueAppTokenLocked(a, tp.tenant.ID, res, resURI)
	return newMSTokenResponse(at, "", nil), nil
}
