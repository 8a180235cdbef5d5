package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"mailtokens/internal/clock"
	"mailtokens/internal/provider"
)

func TestConformance_MSTenantForms(t *testing.T) {
	s, _ := newWorld(t)
	tests := []struct {
		name, tenant, clientID string
	}{
		{"tenant GUID", contosoID, msWebID},
		{"tenant domain", contosoDomain, msWebID},
		{"tenant domain in other case", "Contoso.EXAMPLE", msWebID},
		{"common (multi-tenant app)", "common", msMultiID},
		{"organizations (multi-tenant app)", "organizations", msMultiID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := msConfig(s)
			cfg.ClientID = tt.clientID
			cfg.Endpoint = msEndpoint(s, tt.tenant)
			tok := tokenFor(t, s, cfg, alice)
			if tok.RefreshToken == "" {
				t.Fatal("no refresh token")
			}
			// A refresh through the same tenant path works too.
			next, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatalf("refresh via %s: %v", tt.tenant, err)
			}
			if in := s.Introspect(next.AccessToken); !in.Active || in.TenantID != contosoID {
				t.Errorf("introspection = %+v", in)
			}
		})
	}
}

func TestConformance_MSSingleTenantViaCommonRefused(t *testing.T) {
	s, _ := newWorld(t)
	for _, tenant := range []string{"common", "organizations"} {
		cfg := msConfig(s)
		cfg.Endpoint = msEndpoint(s, tenant)
		_, err := s.SignIn(context.Background(), cfg.AuthCodeURL("x"), alice, password)
		if err == nil || aadsts(err.Error()) != 50194 {
			t.Errorf("%s authorize: err = %v, want AADSTS50194 on the page", tenant, err)
		}
	}
	// Also for refresh: a refresh token obtained correctly must still be
	// redeemed at the tenant-specific endpoint.
	tok := tokenFor(t, s, msConfig(s), alice)
	r := post(t, msTokenURL(s, "common"), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
	checkMSError(t, r, 400, "invalid_request", 50194)
}

func TestConformance_MSWrongTenant700016(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	cfg.Endpoint = msEndpoint(s, fabrikamID)
	_, err := s.SignIn(context.Background(), cfg.AuthCodeURL("x"), alice, password)
	if err == nil || aadsts(err.Error()) != 700016 || !strings.Contains(err.Error(), "was not found in the directory '"+fabrikamID+"'") {
		t.Errorf("authorize via the wrong tenant: %v, want AADSTS700016 naming the directory", err)
	}
	r := post(t, msTokenURL(s, fabrikamID), msForm("grant_type", "refresh_token", "refresh_token", "0.Axyz"))
	checkMSError(t, r, 400, "unauthorized_client", 700016)
	r = post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", "0.Axyz", "client_id", "00000000-0000-0000-0000-000000000000"))
	checkMSError(t, r, 400, "unauthorized_client", 700016)
}

func TestConformance_MSUnknownTenant90002(t *testing.T) {
	s, _ := newWorld(t)
	r := post(t, msTokenURL(s, "nowhere.example"), msForm("grant_type", "refresh_token", "refresh_token", "x"))
	checkMSError(t, r, 400, "invalid_request", 90002)
}

func TestConformance_MSOfflineAccessNeededForRefreshToken(t *testing.T) {
	s, _ := newWorld(t)
	tests := []struct {
		scopes []string
		wantRT bool
	}{
		{[]string{exoIMAP, exoSMTP}, false},
		{[]string{exoIMAP, exoSMTP, "offline_access"}, true},
		{[]string{exoIMAP, "openid", "profile", "offline_access"}, true},
	}
	for _, tt := range tests {
		cfg := msConfig(s)
		cfg.Scopes = tt.scopes
		tok := tokenFor(t, s, cfg, alice)
		if (tok.RefreshToken != "") != tt.wantRT {
			t.Errorf("scopes %v: refresh token present = %v, want %v", tt.scopes, tok.RefreshToken != "", tt.wantRT)
		}
		// "scope" lists the granted resource scopes, never offline_access
		// or the OpenID scopes.
		scope, _ := tok.Extra("scope").(string)
		if strings.Contains(scope, "offline_access") || strings.Contains(scope, "openid") || !strings.Contains(scope, exoIMAP) {
			t.Errorf("scopes %v: response scope = %q", tt.scopes, scope)
		}
	}
}

func TestConformance_MSRefreshRotation(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	tok := tokenFor(t, s, cfg, alice)
	seen := map[string]bool{tok.RefreshToken: true}
	rt := tok.RefreshToken
	for range 3 {
		r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", rt))
		next := r.str("refresh_token")
		if r.status != 200 || next == "" || seen[next] {
			t.Fatalf("refresh: HTTP %d, refresh_token new = %v", r.status, !seen[next])
		}
		seen[next] = true
		// The one just replaced is spent.
		old := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", rt))
		checkMSError(t, old, 400, "invalid_grant", 70000)
		rt = next
	}
}

func TestConformance_MSRotationOff(t *testing.T) {
	s, _ := newWorld(t)
	s.SetRotation(false)
	tok := tokenFor(t, s, msConfig(s), alice)
	for range 3 {
		r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		if r.status != 200 || r.str("refresh_token") != tok.RefreshToken {
			t.Fatalf("refresh without rotation: HTTP %d, same token = %v", r.status, r.str("refresh_token") == tok.RefreshToken)
		}
	}
}

func TestConformance_MSRefreshInactivity700082(t *testing.T) {
	s, clock := newWorld(t)
	tok := tokenFor(t, s, msConfig(s), alice)
	// Inactivity is measured since last use: refreshing every 89 days keeps
	// the chain alive well past 90 days.
	rt := tok.RefreshToken
	for range 3 {
		clock.Advance(89 * 24 * time.Hour)
		r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", rt))
		if r.status != 200 {
			t.Fatalf("refresh after 89 days: %s", r.raw)
		}
		rt = r.str("refresh_token")
	}
	clock.Advance(90 * 24 * time.Hour)
	r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", rt))
	checkMSError(t, r, 400, "invalid_grant", 700082)
	if d := r.str("error_description"); !strings.Contains(d, "expired due to inactivity") || !strings.Contains(d, "inactive for 90.00:00:00") {
		t.Errorf("description = %q", d)
	}

	s.SetRefreshInactivity(time.Hour)
	tok = tokenFor(t, s, msConfig(s), alice)
	clock.Advance(time.Hour)
	r = post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
	checkMSError(t, r, 400, "invalid_grant", 700082)
}

func TestConformance_MSClientAuthStyles(t *testing.T) {
	s, _ := newWorld(t)
	for _, style := range []oauth2.AuthStyle{oauth2.AuthStyleInParams, oauth2.AuthStyleInHeader} {
		cfg := msConfig(s)
		cfg.Endpoint.AuthStyle = style
		tok := tokenFor(t, s, cfg, alice)
		next, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
		if err != nil {
			t.Fatalf("style %v: refresh: %v", style, err)
		}
		if next.RefreshToken == tok.RefreshToken || next.AccessToken == "" {
			t.Errorf("style %v: refresh did not rotate", style)
		}
	}
	// Secrets with characters that need form-encoding survive Basic auth.
	s.AddApp(App{Provider: provider.Microsoft, Name: "Odd", ClientID: "odd-app", Secrets: []Secret{{Value: "a+b/c=d%e f~"}}, RedirectURIs: []string{redirectURI}, Tenant: contosoID})
	cfg := msConfig(s)
	cfg.ClientID, cfg.ClientSecret = "odd-app", "a+b/c=d%e f~"
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInHeader
	tokenFor(t, s, cfg, alice)
}

// x/oauth2's auto-detection tries HTTP Basic first and, on ANY error, tries
// again with the secret in the body, returning only the second error. That
// is why the product uses AuthStyleInParams.
func TestConformance_MSAutoDetectRetriesOnError(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleAutoDetect
	cfg.ClientSecret = "wrong"
	code, verifier := codeFor(t, s, cfg, alice)
	_, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(verifier))
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_client" {
		t.Fatalf("Exchange with a wrong secret: %v", err)
	}
	if n := s.TokenRequests("authorization_code"); n != 2 {
		t.Errorf("token requests = %d, want 2 (Basic, then body)", n)
	}
}

func TestConformance_MSXOAuth2CodeFlowAndRefresh(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	tok := tokenFor(t, s, cfg, alice)
	if tok.TokenType != "Bearer" || tok.Expiry.IsZero() {
		t.Errorf("token = %+v", tok)
	}
	src := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken})
	next, err := src.Token()
	if err != nil {
		t.Fatal(err)
	}
	in := s.Introspect(next.AccessToken)
	if !in.Active || in.Username != alice || in.Scope != "IMAP.AccessAsUser.All SMTP.Send" || in.Audience != "https://outlook.office.com" {
		t.Errorf("introspection = %+v", in)
	}
	recs := s.Refreshes()
	if len(recs) != 1 || recs[0].Outcome != "ok" || recs[0].RefreshToken != tok.RefreshToken || recs[0].ClientID != msWebID {
		t.Errorf("Refreshes() = %+v", recs)
	}
}

func TestConformance_MSErrorBody(t *testing.T) {
	s, _ := newWorld(t)
	const corr = "0f1e2d3c-4b5a-4968-8776-a5b4c3d2e1f0"
	r := postWith(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", "0.A"+strings.Repeat("x", 900)),
		func(req *http.Request) { req.Header.Set("client-request-id", corr) })
	checkMSError(t, r, 400, "invalid_grant", 70000)
	desc := r.str("error_description")
	for _, want := range []string{"\r\nTrace ID: " + r.str("trace_id"), "\r\nCorrelation ID: " + corr, "\r\nTimestamp: 2026-03-02 09:30:00Z"} {
		if !strings.Contains(desc, want) {
			t.Errorf("error_description %q lacks %q", desc, want)
		}
	}
	if r.str("correlation_id") != corr {
		t.Errorf("correlation_id = %q, want the client-request-id", r.str("correlation_id"))
	}
	if r.str("timestamp") != "2026-03-02 09:30:00Z" {
		t.Errorf("timestamp = %q", r.str("timestamp"))
	}
	if !strings.HasSuffix(r.str("error_uri"), "/error?code=70000") {
		t.Errorf("error_uri = %q", r.str("error_uri"))
	}
	status, body, _ := getPage(t, r.str("error_uri"))
	if status != 200 || !strings.Contains(body, "AADSTS70000") {
		t.Errorf("error_uri page: %d", status)
	}

	// A GET on the token endpoint is answered in the same shape.
	req, _ := http.NewRequest(http.MethodGet, msTokenURL(s, contosoID), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var getBody msErrorBody
	err = json.NewDecoder(resp.Body).Decode(&getBody)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 400 || len(getBody.ErrorCodes) != 1 || getBody.ErrorCodes[0] != 900561 {
		t.Errorf("GET token endpoint: HTTP %d %+v %v", resp.StatusCode, getBody, err)
	}

	// x/oauth2 surfaces the fields as a RetrieveError.
	_, err = msConfig(s).TokenSource(context.Background(), &oauth2.Token{RefreshToken: "garbage"}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" || !strings.HasPrefix(re.ErrorDescription, "AADSTS9002313: ") {
		t.Errorf("x/oauth2 error = %v", err)
	}
}

// TestConformance_MSErrorCodes reaches every AADSTS code in the table of
// docs/providers.md, each through the situation that causes it on the real
// service.
func TestConformance_MSErrorCodes(t *testing.T) {
	type env struct {
		s     *Server
		clock *clock.Fake
	}
	// refresh redeems a fresh refresh token after setup.
	refresh := func(setup func(t *testing.T, e env, rt string)) func(t *testing.T, e env) reply {
		return func(t *testing.T, e env) reply {
			tok := tokenFor(t, e.s, msConfig(e.s), alice)
			setup(t, e, tok.RefreshToken)
			return post(t, msTokenURL(e.s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
		}
	}
	// redeem redeems a fresh code with the form adjusted by change.
	redeem := func(change func(t *testing.T, e env, f url.Values)) func(t *testing.T, e env) reply {
		return func(t *testing.T, e env) reply {
			code, verifier := codeFor(t, e.s, msConfig(e.s), alice)
			f := msForm("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier)
			change(t, e, f)
			return post(t, msTokenURL(e.s, contosoID), f)
		}
	}
	tests := []struct {
		name   string
		status int
		error  string
		code   int
		run    func(t *testing.T, e env) reply
	}{
		{"rotated refresh token reused", 400, "invalid_grant", 70000, refresh(func(t *testing.T, e env, rt string) {
			post(t, msTokenURL(e.s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", rt))
		})},
		{"refresh token inactive 90 days", 400, "invalid_grant", 700082, refresh(func(t *testing.T, e env, _ string) { e.clock.Advance(90 * 24 * time.Hour) })},
		{"sign-in frequency", 400, "invalid_grant", 70043, refresh(func(t *testing.T, e env, _ string) {
			e.s.SetSignInFrequency(time.Hour)
			e.clock.Advance(time.Hour + time.Second)
		})},
		{"MFA required", 400, "invalid_grant", 50076, refresh(func(t *testing.T, e env, _ string) { e.s.RequireMFA(alice) })},
		{"consent revoked", 400, "invalid_grant", 65001, refresh(func(t *testing.T, e env, _ string) { e.s.RevokeConsent(msWebID, alice) })},
		{"code redeemed twice", 400, "invalid_grant", 54005, redeem(func(t *testing.T, e env, f url.Values) {
			post(t, msTokenURL(e.s, contosoID), f)
		})},
		{"code expired", 400, "invalid_grant", 70008, redeem(func(t *testing.T, e env, _ url.Values) { e.clock.Advance(10 * time.Minute) })},
		{"PKCE verifier mismatch", 400, "invalid_grant", 501481, redeem(func(t *testing.T, _ env, f url.Values) { f.Set("code_verifier", oauth2.GenerateVerifier()) })},
		{"redirect_uri differs at the token endpoint", 400, "invalid_grant", 500112, redeem(func(t *testing.T, _ env, f url.Values) { f.Set("redirect_uri", "http://localhost:9999/other") })},
		{"wrong client secret", 401, "invalid_client", 7000215, redeem(func(t *testing.T, _ env, f url.Values) { f.Set("client_secret", "not-it") })},
		{"expired client secret", 401, "invalid_client", 7000222, redeem(func(t *testing.T, e env, _ url.Values) { e.s.ExpireSecrets(msWebID) })},
		{"confidential app without secret", 401, "invalid_client", 7000218, redeem(func(t *testing.T, _ env, f url.Values) { f.Del("client_secret") })},
		{"app not in that tenant", 400, "unauthorized_client", 700016, func(t *testing.T, e env) reply {
			return post(t, msTokenURL(e.s, fabrikamDomain), msForm("grant_type", "client_credentials", "scope", exoDefault))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newWorld(t)
			r := tt.run(t, env{s, clock})
			checkMSError(t, r, tt.status, tt.error, tt.code)
		})
	}

	// The codes Microsoft shows on its page instead of redirecting.
	pageTests := []struct {
		name     string
		clientID string
		tenant   string
		redirect string
		code     int
	}{
		{"redirect URI not registered", msWebID, contosoID, "http://localhost:8080/other", 50011},
		{"app without redirect URIs", msNoReplyID, contosoID, redirectURI, 500113},
		{"no redirect URI sent", msWebID, contosoID, "", 900971},
		{"unknown app", "00000000-1111-4222-8333-444444444444", contosoID, redirectURI, 700016},
		{"single-tenant app via common", msWebID, "common", redirectURI, 50194},
	}
	for _, tt := range pageTests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newWorld(t)
			q := url.Values{"client_id": {tt.clientID}, "response_type": {"code"}, "scope": {exoIMAP}, "state": {"s"}}
			if tt.redirect != "" {
				q.Set("redirect_uri", tt.redirect)
			}
			status, body, loc := getPage(t, msEndpoint(s, tt.tenant).AuthURL+"?"+q.Encode())
			if loc != nil {
				t.Fatalf("redirected to %s; Microsoft shows this error on its page", loc)
			}
			msg, _ := elementText(body, "error")
			if status != 400 || aadsts(msg) != tt.code {
				t.Errorf("HTTP %d, message %q; want 400 and AADSTS%d", status, msg, tt.code)
			}
			if tt.code == 50011 && !strings.Contains(msg, "'http://localhost:8080/other'") {
				t.Errorf("50011 should quote the URI to register: %q", msg)
			}
		})
	}
}

func TestConformance_MSAuthorizeRedirectErrors(t *testing.T) {
	s, _ := newWorld(t)
	ctx := context.Background()
	authURL := func(clientID, tenant string, scopes ...string) string {
		cfg := msConfig(s)
		cfg.ClientID = clientID
		cfg.Endpoint = msEndpoint(s, tenant)
		cfg.Scopes = scopes
		return cfg.AuthCodeURL("st")
	}
	tests := []struct {
		name    string
		run     func() (*url.URL, error)
		error   string
		code    int
		subcode string
	}{
		{"unknown scope", func() (*url.URL, error) {
			return s.SignIn(ctx, authURL(msWebID, contosoID, "https://outlook.office.com/IMAP.Everything"), alice, password)
		}, "invalid_scope", 70011, ""},
		{"two resources in one request", func() (*url.URL, error) {
			return s.SignIn(ctx, authURL(msWebID, contosoID, exoIMAP, "https://graph.microsoft.com/User.Read", "offline_access"), alice, password)
		}, "invalid_scope", 28000, ""},
		{"user cancels", func() (*url.URL, error) {
			return s.Decline(ctx, authURL(msWebID, contosoID, exoIMAP), alice, password)
		}, "access_denied", 65004, "cancel"},
		{"tenant without user consent", func() (*url.URL, error) {
			return s.SignIn(ctx, authURL(msMultiID, "organizations", exoIMAP), bob, password)
		}, "consent_required", 65001, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := tt.run()
			if err != nil {
				t.Fatal(err)
			}
			q := loc.Query()
			if !strings.HasPrefix(loc.String(), redirectURI) || q.Get("error") != tt.error || aadsts(q.Get("error_description")) != tt.code || q.Get("state") != "st" || q.Get("error_subcode") != tt.subcode {
				t.Errorf("redirect %s; want error=%s AADSTS%d state=st subcode=%q", loc, tt.error, tt.code, tt.subcode)
			}
		})
	}

	// An admin's consent for the tenant lets the user in.
	s.GrantAdminConsent(msMultiID, fabrikamID)
	loc, err := s.SignIn(ctx, authURL(msMultiID, "organizations", exoIMAP), bob, password)
	if err != nil || loc.Query().Get("code") == "" {
		t.Errorf("after admin consent: %v %v", loc, err)
	}
}

func TestConformance_MSSignInPage(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	u := cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("login_hint", alice))
	status, body, _ := getPage(t, u)
	for _, want := range []string{"Mail Tokens", "IMAP.AccessAsUser.All", "SMTP.Send", "offline_access", `value="` + alice + `"`, `value="accept"`, `value="cancel"`} {
		if status != 200 || !strings.Contains(body, want) {
			t.Errorf("sign-in page (HTTP %d) lacks %q", status, want)
		}
	}
	// A wrong password keeps the user on the page with AADSTS50126.
	_, err := s.SignIn(context.Background(), u, alice, "wrong")
	if err == nil || aadsts(err.Error()) != 50126 {
		t.Errorf("wrong password: %v", err)
	}
	// A user of another tenant cannot use a single-tenant app.
	_, err = s.SignIn(context.Background(), u, bob, password)
	if err == nil || aadsts(err.Error()) != 50020 {
		t.Errorf("user of another tenant: %v", err)
	}
	// prompt=none cannot succeed without a browser session.
	loc, err := s.SignIn(context.Background(), cfg.AuthCodeURL("st", oauth2.SetAuthURLParam("prompt", "none")), alice, password)
	if err != nil || loc.Query().Get("error") != "login_required" {
		t.Errorf("prompt=none: %v %v", loc, err)
	}
}

func TestConformance_MSLoopbackRedirectAnyPort(t *testing.T) {
	s, _ := newWorld(t)
	cfg := &oauth2.Config{ClientID: msPublicID, Endpoint: msEndpoint(s, contosoID), RedirectURL: "http://localhost:53117", Scopes: []string{exoIMAP, "offline_access"}}
	tok := tokenFor(t, s, cfg, alice)
	if tok.RefreshToken == "" {
		t.Error("public client got no refresh token")
	}
}

func TestConformance_MSTokenShapes(t *testing.T) {
	s, _ := newWorld(t)
	code, verifier := codeFor(t, s, msConfig(s), alice)
	r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "authorization_code", "code", code, "redirect_uri", redirectURI, "code_verifier", verifier))
	if r.status != 200 {
		t.Fatal(r.raw)
	}
	if r.str("token_type") != "Bearer" || r.body["expires_in"] != float64(3599) || r.body["ext_expires_in"] != float64(3599) {
		t.Errorf("response = %s", r.raw)
	}
	if r.str("scope") != exoIMAP+" "+exoSMTP {
		t.Errorf("scope = %q", r.str("scope"))
	}
	if cc := r.header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Errorf("Cache-Control = %q", cc)
	}
	at := r.str("access_token")
	if n := len(at); n < 1500 || n > 2500 {
		t.Errorf("access token length %d, want 1500..2500 like Exchange tokens", n)
	}
	parts := strings.Split(at, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d segments", len(parts))
	}
	var header, claims map[string]any
	for i, dst := range []*map[string]any{&header, &claims} {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
		if err := json.Unmarshal(b, dst); err != nil {
			t.Fatalf("segment %d: %v", i, err)
		}
	}
	if header["typ"] != "JWT" || header["alg"] != "RS256" || header["kid"] == nil {
		t.Errorf("header = %v", header)
	}
	for _, k := range []string{"aud", "iss", "iat", "nbf", "exp", "scp", "upn", "unique_name", "tid", "appid", "jti"} {
		if claims[k] == nil {
			t.Errorf("claim %s missing", k)
		}
	}
	if claims["aud"] != "https://outlook.office.com" || claims["scp"] != "IMAP.AccessAsUser.All SMTP.Send" || claims["tid"] != contosoID || claims["upn"] != alice {
		t.Errorf("claims = %v", claims)
	}
	if sig, _ := base64.RawURLEncoding.DecodeString(parts[2]); len(sig) != 256 {
		t.Errorf("signature is %d bytes", len(sig))
	}
	rt := r.str("refresh_token")
	if !strings.HasPrefix(rt, "0.A") || len(rt) < 800 {
		t.Errorf("refresh token %q... (%d chars)", rt[:min(10, len(rt))], len(rt))
	}

	s.SetAccessTokenLifetime(10 * time.Minute)
	r = post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", rt))
	if r.body["expires_in"] != float64(600) {
		t.Errorf("expires_in = %v after SetAccessTokenLifetime(10m)", r.body["expires_in"])
	}
}

// Scopes without a resource URI belong to Graph. Asking for bare
// "IMAP.AccessAsUser.All" yields a Graph token, useless for IMAP: the
// introspection's audience says so.
func TestConformance_MSBareScopeMeansGraph(t *testing.T) {
	s, _ := newWorld(t)
	cfg := msConfig(s)
	cfg.Scopes = []string{"IMAP.AccessAsUser.All", "offline_access"}
	tok := tokenFor(t, s, cfg, alice)
	if in := s.Introspect(tok.AccessToken); in.Audience != "https://graph.microsoft.com" {
		t.Errorf("audience = %q, want Graph", in.Audience)
	}
	// A refresh may switch to another consented resource, not to one never
	// consented.
	r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken, "scope", exoIMAP))
	checkMSError(t, r, 400, "invalid_grant", 65001)
}

func TestConformance_MSReSignInAfterPolicy(t *testing.T) {
	s, clock := newWorld(t)
	cfg := msConfig(s)
	tok := tokenFor(t, s, cfg, alice)
	s.RequireMFA(alice)
	r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
	checkMSError(t, r, 400, "invalid_grant", 50076)
	if r.str("suberror") != "basic_action" {
		t.Errorf("suberror = %q", r.str("suberror"))
	}
	// Signing in again satisfies the policy.
	tok = tokenFor(t, s, cfg, alice)
	clock.Advance(time.Minute)
	if r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken)); r.status != 200 {
		t.Errorf("refresh after a new sign-in: %s", r.raw)
	}
	// So does a new consent after RevokeConsent.
	s.RevokeConsent(msWebID, alice)
	tok = tokenFor(t, s, cfg, alice)
	if r := post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken)); r.status != 200 {
		t.Errorf("refresh after a new consent: %s", r.raw)
	}
}

func TestConformance_MSClientCredentials(t *testing.T) {
	s, _ := newWorld(t)
	cc := clientcredentials.Config{
		ClientID:     msDaemonID,
		ClientSecret: msSecret,
		TokenURL:     msTokenURL(s, contosoID),
		Scopes:       []string{exoDefault},
		AuthStyle:    oauth2.AuthStyleInParams,
	}
	tok, err := cc.Token(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken != "" {
		t.Error("client credentials returned a refresh token")
	}
	in := s.Introspect(tok.AccessToken)
	if !in.Active || !in.AppOnly || in.Username != "" || in.Scope != "IMAP.AccessAsApp SMTP.SendAsApp" || in.ClientID != msDaemonID || in.Audience != "https://outlook.office365.com" {
		t.Errorf("introspection = %+v", in)
	}

	tests := []struct {
		name, tenant string
		form         url.Values
		status       int
		error        string
		code         int
	}{
		{"delegated scope", contosoID, url.Values{"client_id": {msDaemonID}, "client_secret": {msSecret}, "scope": {exoIMAP}}, 400, "invalid_scope", 1002012},
		{"two resources", contosoID, url.Values{"client_id": {msDaemonID}, "client_secret": {msSecret}, "scope": {exoDefault + " https://graph.microsoft.com/.default"}}, 400, "invalid_scope", 28000},
		{"no secret", contosoID, url.Values{"client_id": {msDaemonID}, "scope": {exoDefault}}, 401, "invalid_client", 7000218},
		{"no tenant", "organizations", url.Values{"client_id": {msMultiID}, "client_secret": {msSecret}, "scope": {exoDefault}}, 400, "invalid_request", 50059},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.form.Set("grant_type", "client_credentials")
			checkMSError(t, post(t, msTokenURL(s, tt.tenant), tt.form), tt.status, tt.error, tt.code)
		})
	}
}

func TestConformance_MSTokenRequestCounts(t *testing.T) {
	s, _ := newWorld(t)
	tok := tokenFor(t, s, msConfig(s), alice)
	post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
	post(t, msTokenURL(s, contosoID), msForm("grant_type", "refresh_token", "refresh_token", tok.RefreshToken))
	if a, r := s.TokenRequests("authorization_code"), s.TokenRequests("refresh_token"); a != 1 || r != 2 {
		t.Errorf("TokenRequests = %d code, %d refresh", a, r)
	}
	recs := s.Refreshes()
	if len(recs) != 2 || recs[0].Outcome != "ok" || recs[1].Outcome != "invalid_grant" || recs[1].AADSTS != 70000 || !recs[1].At.Equal(epoch) {
		t.Errorf("Refreshes() = %+v", recs)
	}
}
