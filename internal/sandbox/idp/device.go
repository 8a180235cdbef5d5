package idp

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// The device authorization grant (RFC 8628): POST /{tenant}/oauth2/v2.0/devicecode
// for Microsoft, POST /google/device/code for Google, polling at the token
// endpoints, and the /devicelogin page where the user types the code, signs in
// and accepts (like microsoft.com/devicelogin and google.com/device).

const (
	msDeviceLifetime     = 900 * time.Second
	googleDeviceLifetime = 1800 * time.Second
	// User codes avoid vowels (no words) and look-alike characters.
	msUserCodeAlphabet     = "BCDFGHJKLMNPQRSTVWXZ23456789"
	googleUserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"
)

type deviceStatus int

const (
	devicePending deviceStatus = iota
	deviceApproved
	deviceDeclined
	deviceRedeemed
)

// deviceAuth is one device authorization, from the code request to the
// redeeming poll.
type deviceAuth struct {
	deviceCode string
	userCode   string // normalized: no dash
	provider   provider.Type
	app        *app
	pathTenant *Tenant // Microsoft: nil for common/organizations
	ms         msScopes
	google     []string
	std        []string // the standards issuer
	interval   time.Duration
	issuedAt   time.Time
	expiresAt  time.Time
	lastPoll   time.Time
	polled     bool
	status     deviceStatus
	grant      *grant // set when the user approves
}

// displayUserCode is the user code as the provider shows it.
func (d *deviceAuth) displayUserCode() string {
	if d.provider == provider.Google && len(d.userCode) == 8 {
		return d.userCode[:4] + "-" + d.userCode[4:]
	}
	return d.userCode
}

// newDeviceLocked starts a device authorization with a user code that is
// not in use.
func (s *Server) newDeviceLocked(f provider.Type, a *app, lifetime time.Duration) *deviceAuth {
	now := s.clock.Now()
	d := &deviceAuth{
		provider:  f,
		app:       a,
		interval:  time.Duration(s.deviceInterval) * time.Second,
		issuedAt:  now,
		expiresAt: now.Add(lifetime),
	}
	for {
		if f == provider.Microsoft {
			d.userCode = randomFrom(msUserCodeAlphabet, 9)
			d.deviceCode = "DAQABAAEAAAD" + randomURLSafe(320)
		} else {
			d.userCode = randomFrom(googleUserCodeAlphabet, 8)
			d.deviceCode = "AH-1Ng" + randomFrom(urlSafe, 100)
		}
		if s.userCodes[d.userCode] == nil {
			break
		}
	}
	s.devices[d.deviceCode] = d
	s.userCodes[d.userCode] = d
	return d
}

// msDeviceCodeResponse is Microsoft's devicecode answer.
type msDeviceCodeResponse struct {
	UserCode        string `json:"user_code"`
	DeviceCode      string `json:"device_code"`
	VerificationURI string `json:"verification_uri"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int    `json:"interval"`
	Message         string `json:"message"`
}

// handleMSDeviceCode is POST /{tenant}/oauth2/v2.0/devicecode.
func (s *Server) handleMSDeviceCode(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		s.writeMSError(w, r, msMalformed())
		return
	}
	verification := s.baseURL(r) + "/devicelogin"
	s.mu.Lock()
	resp, e := s.msDeviceCodeLocked(r, verification)
	s.mu.Unlock()
	if e != nil {
		s.writeMSError(w, r, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) msDeviceCodeLocked(r *http.Request, verification string) (any, *oauthError) {
	tp, e := s.resolveTenantLocked(r.PathValue("tenant"))
	if e != nil {
		return nil, e
	}
	clientID := r.PostForm.Get("client_id")
	if clientID == "" {
		return nil, msMissingParam("client_id")
	}
	a, e := s.msClientLocked(tp, clientID)
	if e != nil {
		return nil, e
	}
	ms, e := parseMSScopes(r.PostForm.Get("scope"))
	if e != nil {
		return nil, e
	}
	d := s.newDeviceLocked(provider.Microsoft, a, msDeviceLifetime)
	d.pathTenant = tp.tenant
	d.ms = ms
	return msDeviceCodeResponse{
		UserCode:        d.userCode,
		DeviceCode:      d.deviceCode,
		VerificationURI: verification,
		ExpiresIn:       int64(msDeviceLifetime / time.Second),
		Interval:        s.deviceInterval,
		Message:         fmt.Sprintf("To sign in, use a web browser to open the page %s and enter the code %s to authenticate.", verification, d.userCode),
	}, nil
}

// googleDeviceCodeResponse is Google's device/code answer. Google spells the
// page "verification_url", not RFC 8628's "verification_uri".
type googleDeviceCodeResponse struct {
	DeviceCode      string `json:"device_code"`
	UserCode        string `json:"user_code"`
	ExpiresIn       int64  `json:"expires_in"`
	Interval        int    `json:"interval"`
	VerificationURL string `json:"verification_url"`
}

// handleGoogleDeviceCode is POST /google/device/code. Google allows only a
// few scopes on the device flow; the Gmail scope is not one of them, so mail
// clients must use the redirect flow.
func (s *Server) handleGoogleDeviceCode(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		writeGoogleError(w, googleError(400, "invalid_request", "Bad Request"))
		return
	}
	verification := s.baseURL(r) + "/devicelogin"
	s.mu.Lock()
	resp, e := s.googleDeviceCodeLocked(r.PostForm, verification)
	s.mu.Unlock()
	if e != nil {
		writeGoogleError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) googleDeviceCodeLocked(f url.Values, verification string) (any, *oauthError) {
	clientID := f.Get("client_id")
	if clientID == "" {
		return nil, googleError(400, "invalid_request", "Missing required parameter: client_id")
	}
	a := s.apps[clientID]
	if a == nil || a.Provider != provider.Google {
		return nil, googleError(401, "invalid_client", "The OAuth client was not found.")
	}
	raw := f.Get("scope")
	if strings.TrimSpace(raw) == "" {
		return nil, googleError(400, "invalid_request", "Missing required parameter: scope")
	}
	scopes, unknown := parseGoogleScopes(raw)
	if len(unknown) > 0 {
		return nil, googleError(400, "invalid_scope", "")
	}
	for _, sc := range scopes {
		if !googleScopes[sc].device {
			return nil, googleError(400, "invalid_scope", "")
		}
	}
	d := s.newDeviceLocked(provider.Google, a, googleDeviceLifetime)
	d.google = scopes
	return googleDeviceCodeResponse{
		DeviceCode:      d.deviceCode,
		UserCode:        d.displayUserCode(),
		ExpiresIn:       int64(googleDeviceLifetime / time.Second),
		Interval:        s.deviceInterval,
		VerificationURL: verification,
	}, nil
}

// pollResult is what a device-code poll finds.
type pollResult int

const (
	pollPending pollResult = iota
	pollSlowDown
	pollExpired
	pollDeclined
	pollRedeemed
	pollApproved
)

// pollDeviceLocked applies the polling rules both providers share: expiry
// first, then the interval (polling sooner than `interval` after the previous
// poll earns slow_down), then the user's answer. An approved code is
// redeemed by the poll that sees it.
func (s *Server) pollDeviceLocked(d *deviceAuth) pollResult {
	now := s.clock.Now()
	if d.status != deviceRedeemed && !now.Before(d.expiresAt) {
		return pollExpired
	}
	tooSoon := d.polled && now.Sub(d.lastPoll) < d.interval
	d.polled, d.lastPoll = true, now
	if tooSoon {
		return pollSlowDown
	}
	switch d.status {
	case deviceApproved:
		d.status = deviceRedeemed
		return pollApproved
	case deviceDeclined:
		return pollDeclined
	case deviceRedeemed:
		return pollRedeemed
	}
	return pollPending
}

// deviceCodeParam reads the device code of a poll.
func deviceCodeParam(f url.Values) string {
	if v := f.Get("device_code"); v != "" {
		return v
	}
	return f.Get("code") // the v1 endpoint's name, still sent by old clients
}

// msPollDeviceLocked is the Microsoft device_code grant.
func (s *Server) msPollDeviceLocked(a *app, f url.Values) (any, *oauthError) {
	v := deviceCodeParam(f)
	if v == "" {
		return nil, msMissingParam("device_code")
	}
	d := s.devices[v]
	if d == nil || d.provider != provider.Microsoft || d.app != a {
		return nil, msErrorf(400, "bad_verification_code", 70018, "The provided value for the input parameter 'device_code' is not valid.")
	}
	switch s.pollDeviceLocked(d) {
	case pollExpired:
		return nil, msErrorf(400, "expired_token", 70020, "The provided value for the input parameter 'device_code' is not valid. This device code has expired.")
	case pollSlowDown:
		// Microsoft does not document slow_down; the sandbox sends it so
		// that a client's RFC 8628 handling is exercised.
		return nil, msErrorf(400, "slow_down", 70016, "OAuth 2.0 device flow error. Polling too frequently: wait at least %d seconds between requests.", int(d.interval/time.Second))
	case pollPending:
		return nil, msErrorf(400, "authorization_pending", 70016, "The provided request has not yet been authorized by the user. The user must input their code.")
	case pollDeclined:
		return nil, msErrorf(400, "authorization_declined", 70000, "The request was denied because one or more scopes requested are unauthorized or expired. The user must first sign in and grant the client application access to the requested scope.")
	case pollRedeemed:
		return nil, msErrorf(400, "invalid_grant", 70000, "The provided value for the input parameter 'device_code' is not valid. It was already redeemed.")
	}
	g := d.grant
	at := s.issueAccessTokenLocked(g, g.ms)
	var rt *refreshToken
	if g.offline {
		rt = s.issueRefreshTokenLocked(g)
	}
	resp := newMSTokenResponse(at, g.ms.granted(), rt)
	resp.IDToken = s.idTokenLocked(g, "")
	return resp, nil
}

// googlePollDeviceLocked is the Google device_code grant, with Google's own
// statuses: 428 while pending, 403 for slow_down, access_denied and
// expired_token.
func (s *Server) googlePollDeviceLocked(a *app, f url.Values) (any, *oauthError) {
	v := deviceCodeParam(f)
	if v == "" {
		return nil, googleError(400, "invalid_request", "Missing required parameter: device_code")
	}
	d := s.devices[v]
	if d == nil || d.provider != provider.Google || d.app != a {
		return nil, googleError(400, "invalid_grant", "Bad Request")
	}
	switch s.pollDeviceLocked(d) {
	case pollExpired:
		return nil, googleError(403, "expired_token", "Expired")
	case pollSlowDown:
		return nil, googleError(403, "slow_down", "Forbidden")
	case pollPending:
		return nil, googleError(428, "authorization_pending", "Precondition Required")
	case pollDeclined:
		return nil, googleError(403, "access_denied", "Forbidden")
	case pollRedeemed:
		return nil, googleError(400, "invalid_grant", "Bad Request")
	}
	g := d.grant
	at := s.issueAccessTokenLocked(g, msScopes{})
	rt := s.issueRefreshTokenLocked(g)
	return s.newGoogleTokenResponse(at, rt, true, ""), nil
}

// handleDeviceLogin is GET /devicelogin: the page asking for the code.
func (s *Server) handleDeviceLogin(w http.ResponseWriter, r *http.Request) {
	code := r.URL.Query().Get("otc") // Microsoft's prefilled-code link
	if code == "" {
		code = r.URL.Query().Get("user_code")
	}
	s.render(w, http.StatusOK, "device_code.html", deviceCodeData{
		pageMeta: pageMeta{Title: "Enter code"},
		Code:     code,
	})
}

// deviceOutcome is what a /devicelogin POST leads to.
type deviceOutcome struct {
	codeErr string // back to the code page with this message
	code    string
	signin  *deviceAuth
	formErr string
	email   string
	done    *deviceDoneData
}

// handleDeviceLoginSubmit is POST /devicelogin: first the code, then the
// sign-in and consent form (step=signin).
func (s *Server) handleDeviceLoginSubmit(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(w, r); err != nil {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	out := s.deviceLoginLocked(r.PostForm)
	s.mu.Unlock()
	switch {
	case out.done != nil:
		status := http.StatusOK
		if out.done.Outcome == "blocked" {
			status = http.StatusForbidden
		}
		s.render(w, status, "device_done.html", *out.done)
	case out.signin != nil:
		d := out.signin
		data := signInData{
			Heading:     "Sign in",
			AppName:     d.app.Name,
			Action:      "/devicelogin",
			Hidden:      []hiddenField{{"step", "signin"}, {"user_code", d.userCode}},
			Email:       out.email,
			Error:       out.formErr,
			AcceptLabel: "Accept",
		}
		switch d.provider {
		case provider.Google:
			data.pageMeta = pageMeta{Title: "Sign in - Google Accounts", Brand: provider.Google}
			data.Heading = "Sign in with Google"
			data.Scopes = googleConsentLines(d.google)
			data.AcceptLabel = "Allow"
		case provider.Generic:
			data.pageMeta = pageMeta{Title: "Sign in", Brand: provider.Generic}
			data.Scopes = stdConsentLines(d.std)
		default:
			data.pageMeta = pageMeta{Title: "Sign in to your account", Brand: provider.Microsoft}
			data.Scopes = d.ms.consentLines()
			data.Note = "Only continue if you got this code from an app or device you trust."
		}
		s.render(w, http.StatusOK, "signin.html", data)
	default:
		s.render(w, http.StatusOK, "device_code.html", deviceCodeData{
			pageMeta: pageMeta{Title: "Enter code"},
			Code:     out.code,
			Error:    out.codeErr,
		})
	}
}

func (s *Server) deviceLoginLocked(f url.Values) deviceOutcome {
	code := normalizeUserCode(f.Get("user_code"))
	d := s.userCodes[code]
	switch {
	case d == nil:
		return deviceOutcome{code: f.Get("user_code"), codeErr: "That code didn't work. Check the code and try again."}
	case !s.clock.Now().Before(d.expiresAt):
		return deviceOutcome{code: f.Get("user_code"), codeErr: "That code has expired. Go back to your app or device and get a new one."}
	case d.status != devicePending:
		return deviceOutcome{code: f.Get("user_code"), codeErr: "That code was already used."}
	}
	if f.Get("step") != "signin" {
		return deviceOutcome{signin: d}
	}

	email := strings.TrimSpace(f.Get("email"))
	retry := func(msg string) deviceOutcome { return deviceOutcome{signin: d, formErr: msg, email: email} }
	switch f.Get("action") {
	case "cancel":
		d.status = deviceDeclined
		msg := "You have declined to sign in to the application on your device. You may now close this window."
		if d.provider == provider.Google {
			msg = "You denied " + d.app.Name + " access to your Google Account."
		}
		return deviceOutcome{done: &deviceDoneData{pageMeta: pageMeta{Title: "Declined", Brand: d.provider}, Heading: "Declined", Message: msg, Outcome: "declined"}}
	case "accept":
	default:
		return retry("Choose Accept or Cancel.")
	}

	u, ok := s.checkCredentialsLocked(d.provider, email, f.Get("password"))
	if msg := signInProblem(d.provider, u, ok, d.pathTenant); msg != "" {
		return retry(msg)
	}
	var g *grant
	switch d.provider {
	case provider.Microsoft:
		tp := tenantPathOf(d.pathTenant)
		if e := s.msUserAllowedLocked(d.app, tp, u); e != nil {
			return retry(fmt.Sprintf("AADSTS%d: %s", e.aadsts, e.desc))
		}
		if !s.msConsentAllowedLocked(d.app, u, d.ms) {
			// The code stays pending: an admin may still consent.
			return deviceOutcome{done: &deviceDoneData{
				pageMeta: pageMeta{Title: "Need admin approval", Brand: provider.Microsoft},
				Heading:  "Need admin approval",
				Message:  d.app.Name + " needs permission to access resources in your organization that only an admin can grant. Please ask an admin to grant permission to this app before you can use it.",
				Outcome:  "blocked",
			}}
		}
		g = s.msGrantLocked(d.app, u, d.ms)
	case provider.Generic:
		// The person consents on this very page, which stands in for
		// prompt=consent.
		g = s.newGrantLocked(provider.Generic, d.app, u, "")
		g.std, g.offline = s.stdOfflineLocked(d.std, "", true)
	default:
		// Google's device flow always grants offline access.
		g = s.newGrantLocked(provider.Google, d.app, u, "")
		g.google = d.google
		g.offline = true
		s.consentLocked(d.app, u).offlineGranted = true
	}
	d.status = deviceApproved
	d.grant = g
	msg := "You have signed in to the " + d.app.Name + " application on your device. You may now close this window."
	if d.provider == provider.Google {
		msg = "Success! " + d.app.Name + " now has access to your Google Account. You can go back to your device."
	}
	return deviceOutcome{done: &deviceDoneData{pageMeta: pageMeta{Title: "Signed in", Brand: d.provider}, Heading: "Signed in", Message: msg, Outcome: "approved"}}
}

// signInProblem is the message a sign-in page shows for an unknown user or
// a wrong password, in each provider's words; "" when the credentials are
// good.
func signInProblem(f provider.Type, u *user, passwordOK bool, t *Tenant) string {
	switch {
	case u == nil && f == provider.Google:
		return "Couldn't find your Google Account."
	case f == provider.Generic && (u == nil || !passwordOK):
		return "Unknown user name or wrong password."
	case u == nil:
		dir := "the"
		if t != nil {
			dir = "the '" + t.Domain + "'"
		}
		return "This username may be incorrect. (AADSTS50034: The user account {EmailHidden} does not exist in " + dir + " directory. To sign into this application, the account must be added to the directory.)"
	case !passwordOK && f == provider.Google:
		return "Wrong password. Try again or click Forgot password to reset it."
	case !passwordOK:
		return "Your account or password is incorrect. (AADSTS50126: Error validating credentials due to invalid username or password.)"
	}
	return ""
}
