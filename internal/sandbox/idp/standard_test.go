package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"mailtokens/internal/clock"
)

// newStd starts a sandbox with the world in it and the standards issuer
// switched by opt, on a fake clock.
func newStd(t *testing.T, opt StdOptions) (*Server, World, *clock.Fake) {
	t.Helper()
	c := clock.NewFake(epoch)
	s := NewTest(t, Options{Clock: c, Std: opt})
	s.SetDeviceInterval(testInterval)
	return s, s.AddWorld(redirectURI), c
}

// stdConfig is an x/oauth2 client of the standards issuer.
func stdConfig(s *Server, clientID, secret string, style oauth2.AuthStyle, scopes ...string) *oauth2.Config {
	return &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, RedirectURL: redirectURI, Scopes: scopes,
		Endpoint: oauth2.Endpoint{
			AuthURL: s.StdIssuer() + "/authorize", TokenURL: s.StdIssuer() + "/token",
			DeviceAuthURL: s.StdIssuer() + "/device", AuthStyle: style,
		},
	}
}

// stdSignIn signs the world's user in through cfg and returns the redirect.
func stdSignIn(t *testing.T, s *Server, w World, cfg *oauth2.Config, verifier string, opts ...oauth2.AuthCodeOption) *url.URL {
	t.Helper()
	opts = append(opts, oauth2.S256ChallengeOption(verifier))
	loc, err := s.SignIn(context.Background(), cfg.AuthCodeURL("st", opts...), w.StdUser, w.Password)
	if err != nil {
		t.Fatalf("SignIn: %v", err)
	}
	return loc
}

// stdToken runs the code flow through cfg.
func stdToken(t *testing.T, s *Server, w World, cfg *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.Token {
	t.Helper()
	v := oauth2.GenerateVerifier()
	loc := stdSignIn(t, s, w, cfg, v, opts...)
	code := loc.Query().Get("code")
	if code == "" {
		t.Fatalf("no code: %s", loc)
	}
	tok, err := cfg.Exchange(context.Background(), code, oauth2.VerifierOption(v))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// rawPost sends a form and returns the status and body as they came.
func rawPost(t *testing.T, target string, form url.Values, prepare func(*http.Request)) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if prepare != nil {
		prepare(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func basicAuth(id, secret string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(id), url.QueryEscape(secret)) }
}

func TestConformance_StdDiscovery(t *testing.T) {
	s, _, _ := newStd(t, StdOptions{})
	issuer := s.StdIssuer()
	status, _, oidc := getJSON(t, issuer+"/.well-known/openid-configuration", "")
	if status != 200 || oidc["issuer"] != issuer || oidc["userinfo_endpoint"] != issuer+"/userinfo" {
		t.Fatalf("OIDC document: HTTP %d %v", status, oidc)
	}
	// RFC 8414 §3: the well-known path goes between host and the issuer's path.
	status, _, rfc := getJSON(t, s.URL()+"/.well-known/oauth-authorization-server/std", "")
	if status != 200 || rfc["issuer"] != issuer {
		t.Fatalf("RFC 8414 document: HTTP %d %v", status, rfc)
	}
	for _, k := range []string{"authorization_endpoint", "token_endpoint", "device_authorization_endpoint", "revocation_endpoint",
		"token_endpoint_auth_methods_supported", "code_challenge_methods_supported", "scopes_supported"} {
		if rfc[k] == nil || oidc[k] == nil {
			t.Errorf("%s missing", k)
		}
	}
	if status, _, _ := getJSON(t, s.URL()+"/std/.well-known/oauth-authorization-server", ""); status != 404 {
		t.Errorf("the RFC 8414 document appended to the issuer (not the RFC's form): HTTP %d", status)
	}
	s.SetStdOptions(StdOptions{NoOIDCDiscovery: true})
	if status, _, _ := getJSON(t, issuer+"/.well-known/openid-configuration", ""); status != 404 {
		t.Errorf("NoOIDCDiscovery: HTTP %d", status)
	}
}

func TestConformance_StdClientAuthMethods(t *testing.T) {
	s, w, _ := newStd(t, StdOptions{})
	ctx := context.Background()
	cases := []struct {
		name, client, secret string
		style                oauth2.AuthStyle
		ok                   bool
	}{
		{"basic client with Basic", w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, true},
		{"basic client with the secret in the body", w.StdClientID, w.StdSecret, oauth2.AuthStyleInParams, false},
		{"basic client with a wrong secret", w.StdClientID, "wrong", oauth2.AuthStyleInHeader, false},
		{"post client in the body", w.StdPostClientID, w.StdSecret, oauth2.AuthStyleInParams, true},
		{"post client with Basic", w.StdPostClientID, w.StdSecret, oauth2.AuthStyleInHeader, false},
		{"public client without a secret", w.StdPublicClientID, "", oauth2.AuthStyleInParams, true},
		{"public client with a secret", w.StdPublicClientID, w.StdSecret, oauth2.AuthStyleInParams, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := stdConfig(s, c.client, c.secret, c.style, "mail")
			v := oauth2.GenerateVerifier()
			code := stdSignIn(t, s, w, cfg, v).Query().Get("code")
			tok, err := cfg.Exchange(ctx, code, oauth2.VerifierOption(v))
			if c.ok {
				if err != nil || tok.AccessToken == "" || !strings.EqualFold(tok.TokenType, "bearer") {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var re *oauth2.RetrieveError
			if !errors.As(err, &re) || re.Response.StatusCode != 401 || re.ErrorCode != "invalid_client" {
				t.Fatalf("want 401 invalid_client, got %v", err)
			}
		})
	}
	// Two methods in one request (RFC 6749 §2.3).
	status, body := rawPost(t, s.StdIssuer()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"},
		"client_id": {w.StdClientID}, "client_secret": {w.StdSecret}}, basicAuth(w.StdClientID, w.StdSecret))
	if status != 400 || !strings.Contains(body, "invalid_request") {
		t.Errorf("two methods: HTTP %d %s", status, body)
	}
}

// idTokenClaims reads an ID token's payload.
func idTokenClaims(t *testing.T, raw string) map[string]any {
	t.Helper()
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", raw)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestConformance_StdNonceRequired(t *testing.T) {
	s, w, _ := newStd(t, StdOptions{RequireNonce: true})
	cfg := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "openid", "email", "mail")
	loc := stdSignIn(t, s, w, cfg, oauth2.GenerateVerifier())
	if loc.Query().Get("error") != "invalid_request" || loc.Query().Get("state") != "st" {
		t.Fatalf("openid without a nonce: %s", loc)
	}
	tok := stdToken(t, s, w, cfg, oauth2.SetAuthURLParam("nonce", "n-0S6_WzA2Mj"))
	claims := idTokenClaims(t, tok.Extra("id_token").(string))
	if claims["nonce"] != "n-0S6_WzA2Mj" || claims["iss"] != s.StdIssuer() || claims["aud"] != w.StdClientID ||
		!strings.EqualFold(claims["email"].(string), w.StdUser) {
		t.Fatalf("ID token claims: %v", claims)
	}
	// Without openid no nonce is needed.
	nolog := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "mail")
	if tok := stdToken(t, s, w, nolog); tok.Extra("id_token") != nil {
		t.Errorf("an ID token without openid")
	}
}

func TestConformance_StdOfflineAccessNeedsConsent(t *testing.T) {
	s, w, _ := newStd(t, StdOptions{OIDCOffline: true})
	cfg := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "openid", "mail", "offline_access")
	tok := stdToken(t, s, w, cfg)
	if tok.RefreshToken != "" || strings.Contains(tok.Extra("scope").(string), "offline_access") {
		t.Fatalf("offline_access without prompt=consent is dropped (OIDC Core §11): refresh token %q, scope %q", tok.RefreshToken, tok.Extra("scope"))
	}
	tok = stdToken(t, s, w, cfg, oauth2.ApprovalForce)
	if tok.RefreshToken == "" || !strings.Contains(tok.Extra("scope").(string), "offline_access") {
		t.Fatalf("offline_access with prompt=consent: no refresh token (scope %q)", tok.Extra("scope"))
	}
	noOffline := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "openid", "mail")
	if tok := stdToken(t, s, w, noOffline, oauth2.ApprovalForce); tok.RefreshToken != "" {
		t.Fatal("a refresh token without offline_access")
	}
	// A plain OAuth2 server issues one with every code.
	s.SetStdOptions(StdOptions{})
	if tok := stdToken(t, s, w, noOffline); tok.RefreshToken == "" {
		t.Fatal("plain mode: no refresh token")
	}
}

func TestConformance_StdRefreshRotation(t *testing.T) {
	for _, rotate := range []bool{false, true} {
		s, w, _ := newStd(t, StdOptions{Rotation: rotate})
		cfg := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "mail")
		tok := stdToken(t, s, w, cfg)
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}}
		status, body := rawPost(t, s.StdIssuer()+"/token", form, basicAuth(w.StdClientID, w.StdSecret))
		if status != 200 || strings.Contains(body, "refresh_token") != rotate || !strings.Contains(body, `"token_type":"bearer"`) {
			t.Fatalf("rotation %v: HTTP %d %s", rotate, status, body)
		}
		status, _ = rawPost(t, s.StdIssuer()+"/token", form, basicAuth(w.StdClientID, w.StdSecret))
		if (status == 200) == rotate {
			t.Fatalf("rotation %v: the first refresh token again: HTTP %d", rotate, status)
		}
	}
}

func TestConformance_StdEmptyBody400(t *testing.T) {
	s, w, _ := newStd(t, StdOptions{EmptyErrors: true})
	cfg := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "mail")
	tok := stdToken(t, s, w, cfg)
	revoke := url.Values{"token": {tok.RefreshToken}}
	if status, _ := rawPost(t, s.StdIssuer()+"/revoke", revoke, basicAuth(w.StdClientID, w.StdSecret)); status != 200 {
		t.Fatalf("revoke: HTTP %d", status)
	}
	status, body := rawPost(t, s.StdIssuer()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		basicAuth(w.StdClientID, w.StdSecret))
	if status != 400 || body != "" {
		t.Fatalf("revoked refresh token: HTTP %d %q, want 400 and no body", status, body)
	}
	status, body = rawPost(t, s.StdIssuer()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		basicAuth(w.StdClientID, "wrong"))
	if status != 400 || body != "" {
		t.Fatalf("wrong secret: HTTP %d %q, want 400 and no body", status, body)
	}
}

func TestConformance_StdRevocationNeedsClientAuth(t *testing.T) {
	s, w, _ := newStd(t, StdOptions{})
	cfg := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "mail")
	tok := stdToken(t, s, w, cfg)
	target := s.StdIssuer() + "/revoke"
	// RFC 7009 §2.1: a confidential client authenticates.
	status, body := rawPost(t, target, url.Values{"token": {tok.RefreshToken}, "client_id": {w.StdClientID}}, nil)
	if status != 401 || !strings.Contains(body, "invalid_client") {
		t.Fatalf("without client authentication: HTTP %d %s", status, body)
	}
	if status, _ := rawPost(t, target, url.Values{"token": {tok.RefreshToken}}, basicAuth(w.StdPostClientID, w.StdSecret)); status != 401 {
		t.Fatalf("another client's method: HTTP %d", status)
	}
	if status, body := rawPost(t, target, url.Values{"token": {tok.RefreshToken}}, basicAuth(w.StdClientID, w.StdSecret)); status != 200 {
		t.Fatalf("revoke: HTTP %d %s", status, body)
	}
	// §2.2: an unknown or already revoked token is no error.
	if status, _ := rawPost(t, target, url.Values{"token": {tok.RefreshToken}}, basicAuth(w.StdClientID, w.StdSecret)); status != 200 {
		t.Fatalf("again: HTTP %d", status)
	}
	status, body = rawPost(t, s.StdIssuer()+"/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok.RefreshToken}},
		basicAuth(w.StdClientID, w.StdSecret))
	if status != 400 || !strings.Contains(body, "invalid_grant") {
		t.Fatalf("refresh after revocation: HTTP %d %s", status, body)
	}
	if in := s.Introspect(tok.AccessToken); in.Active {
		t.Fatal("the grant's access token outlived the revocation of its refresh token")
	}
	recs := s.Revocations()
	if len(recs) != 4 || recs[0].Status != 401 || recs[2].Outcome != "revoked" || recs[2].Method != "client_secret_basic" || recs[3].Outcome != "unknown token" {
		t.Fatalf("revocations: %+v", recs)
	}
}

func TestConformance_StdDeviceFlow(t *testing.T) {
	s, w, c := newStd(t, StdOptions{OIDCOffline: true})
	target := s.StdIssuer() + "/device"
	form := url.Values{"scope": {"openid email mail offline_access"}}
	if status, body := rawPost(t, target, url.Values{"client_id": {w.StdClientID}, "scope": {"mail"}}, nil); status != 401 {
		t.Fatalf("device authorization without client authentication: HTTP %d %s", status, body)
	}
	r := postWith(t, target, form, basicAuth(w.StdClientID, w.StdSecret))
	if r.status != 200 || r.str("device_code") == "" || r.str("verification_uri") != s.URL()+"/devicelogin" ||
		!strings.HasPrefix(r.str("verification_uri_complete"), s.URL()+"/devicelogin?user_code=") || r.body["expires_in"] != float64(600) {
		t.Fatalf("device authorization: %s", r.raw)
	}
	poll := url.Values{"grant_type": {deviceGrant}, "device_code": {r.str("device_code")}}
	p := postWith(t, s.StdIssuer()+"/token", poll, basicAuth(w.StdClientID, w.StdSecret))
	if p.status != 400 || p.str("error") != "authorization_pending" {
		t.Fatalf("first poll: %s", p.raw)
	}
	if p := postWith(t, s.StdIssuer()+"/token", poll, basicAuth(w.StdClientID, w.StdSecret)); p.str("error") != "slow_down" {
		t.Fatalf("poll at once: %s", p.raw)
	}
	if err := s.ApproveDevice(context.Background(), r.str("user_code"), w.StdUser, w.Password); err != nil {
		t.Fatal(err)
	}
	c.Advance(2 * time.Second)
	p = postWith(t, s.StdIssuer()+"/token", poll, basicAuth(w.StdClientID, w.StdSecret))
	if p.status != 200 || p.str("access_token") == "" || p.str("refresh_token") == "" || p.str("id_token") == "" {
		t.Fatalf("approved: %s", p.raw)
	}
}

func TestConformance_StdUserinfo(t *testing.T) {
	s, w, _ := newStd(t, StdOptions{})
	s.SetMinimalIDTokens(true)
	cfg := stdConfig(s, w.StdClientID, w.StdSecret, oauth2.AuthStyleInHeader, "openid", "email", "mail")
	tok := stdToken(t, s, w, cfg, oauth2.SetAuthURLParam("nonce", "n"))
	if claims := idTokenClaims(t, tok.Extra("id_token").(string)); claims["email"] != nil || claims["nonce"] != "n" {
		t.Fatalf("minimal ID token: %v", claims)
	}
	status, _, m := getJSON(t, s.StdIssuer()+"/userinfo", tok.AccessToken)
	if status != 200 || !strings.EqualFold(m["email"].(string), w.StdUser) {
		t.Fatalf("userinfo: HTTP %d %v", status, m)
	}
	if in := s.Introspect(tok.AccessToken); !in.Active || in.Username != strings.ToLower(w.StdUser) || in.Scope != "openid email mail" {
		t.Fatalf("introspection: %+v", in)
	}
}
