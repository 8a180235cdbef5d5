package idp

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"golang.org/x/oauth2"
)

// idClaims decodes the payload of the token answer's id_token, or returns
// nil when there is none.
func idClaims(t *testing.T, tok *oauth2.Token) map[string]any {
	t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil
	}
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		t.Fatalf("id_token is not a JWT: %.80s", raw)
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatalf("id_token payload: %v", err)
	}
	return c
}

func TestConformance_MSIDToken(t *testing.T) {
	s, _ := newWorld(t)

	// Without openid: no ID token.
	if c := idClaims(t, tokenFor(t, s, msConfig(s), alice)); c != nil {
		t.Fatalf("an ID token without openid: %v", c)
	}

	// openid profile email beside Exchange's scopes: one resource still,
	// and the ID token says who signed in.
	cfg := msConfig(s)
	cfg.Scopes = append(cfg.Scopes, "openid", "profile", "email")
	tok := tokenFor(t, s, cfg, alice)
	c := idClaims(t, tok)
	if c == nil {
		t.Fatal("no id_token with openid")
	}
	for k, want := range map[string]any{
		"preferred_username": alice, "email": alice, "aud": msWebID, "tid": contosoID, "ver": "2.0",
		"iss": "https://login.microsoftonline.com/" + contosoID + "/v2.0",
	} {
		if c[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, c[k], want)
		}
	}
	for _, k := range []string{"sub", "oid", "iat", "exp", "name"} {
		if c[k] == nil {
			t.Errorf("id_token lacks %s: %v", k, c)
		}
	}
	if scope, _ := tok.Extra("scope").(string); strings.Contains(scope, "openid") || !strings.Contains(scope, exoIMAP) {
		t.Errorf("granted scope = %q", scope)
	}

	// A refresh of that grant carries an ID token too.
	next, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if c := idClaims(t, next); c == nil || c["preferred_username"] != alice {
		t.Errorf("refresh: id_token claims %v", c)
	}

	// openid alone: no preferred_username (it needs profile), no email.
	cfg = msConfig(s)
	cfg.Scopes = append(cfg.Scopes, "openid")
	c = idClaims(t, tokenFor(t, s, cfg, alice))
	if c == nil || c["preferred_username"] != nil || c["email"] != nil || c["sub"] == nil {
		t.Errorf("openid alone: %v", c)
	}
}

func TestConformance_GoogleIDToken(t *testing.T) {
	s, _ := newWorld(t)
	if c := idClaims(t, tokenFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)); c != nil {
		t.Fatalf("an ID token without openid: %v", c)
	}

	cfg := googleConfig(s, gWebID)
	cfg.Scopes = []string{"openid", "email", "profile", gmailScope}
	tok := tokenFor(t, s, cfg, carol, googleOffline...)
	c := idClaims(t, tok)
	for k, want := range map[string]any{
		"email": carol, "email_verified": true, "aud": gWebID, "azp": gWebID, "iss": "https://accounts.google.com",
	} {
		if c[k] != want {
			t.Errorf("id_token %s = %v, want %v", k, c[k], want)
		}
	}
	if c["preferred_username"] != nil || c["sub"] == nil || c["name"] == nil {
		t.Errorf("id_token: %v", c)
	}
	// Google's refresh answers carry an ID token as well.
	next, err := cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
	if err != nil {
		t.Fatal(err)
	}
	if c := idClaims(t, next); c == nil || c["email"] != carol {
		t.Errorf("refresh: id_token claims %v", c)
	}

	// openid without email: no email claim.
	cfg.Scopes = []string{"openid", gmailScope}
	if c := idClaims(t, tokenFor(t, s, cfg, carol, googleOffline...)); c == nil || c["email"] != nil {
		t.Errorf("openid without email: %v", c)
	}
}

// getJSON fetches target with an optional bearer token.
func getJSON(t *testing.T, target, bearer string) (int, http.Header, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, target, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(raw, &m)
	return resp.StatusCode, resp.Header, m
}

func TestConformance_OIDCDiscoveryAndUserinfo(t *testing.T) {
	s, _ := newWorld(t)
	status, _, doc := getJSON(t, s.URL()+"/google/.well-known/openid-configuration", "")
	if status != 200 {
		t.Fatalf("discovery: HTTP %d", status)
	}
	for k, want := range map[string]string{
		"issuer":                        s.URL() + "/google",
		"authorization_endpoint":        s.URL() + "/google/o/oauth2/v2/auth",
		"token_endpoint":                s.URL() + "/google/token",
		"userinfo_endpoint":             s.URL() + "/google/v1/userinfo",
		"revocation_endpoint":           s.URL() + "/google/revoke",
		"device_authorization_endpoint": s.URL() + "/google/device/code",
	} {
		if doc[k] != want {
			t.Errorf("discovery %s = %v, want %s", k, doc[k], want)
		}
	}

	cfg := googleConfig(s, gWebID)
	cfg.Scopes = []string{"openid", "email", gmailScope}
	tok := tokenFor(t, s, cfg, carol, googleOffline...)
	status, _, info := getJSON(t, s.URL()+"/google/v1/userinfo", tok.AccessToken)
	if status != 200 || info["email"] != carol || info["email_verified"] != true || info["sub"] == nil {
		t.Errorf("userinfo: HTTP %d %v", status, info)
	}
	if status, hdr, _ := getJSON(t, s.URL()+"/google/v1/userinfo", ""); status != 401 || !strings.HasPrefix(hdr.Get("WWW-Authenticate"), "Bearer") {
		t.Errorf("userinfo without a token: HTTP %d %q", status, hdr.Get("WWW-Authenticate"))
	}
	if status, _, _ := getJSON(t, s.URL()+"/google/v1/userinfo", "ya29.nonsense"); status != 401 {
		t.Errorf("userinfo with an unknown token: HTTP %d", status)
	}
	// A token granted without openid may not read it.
	mail := tokenFor(t, s, googleConfig(s, gWebID), carol, googleOffline...)
	if status, _, _ := getJSON(t, s.URL()+"/google/v1/userinfo", mail.AccessToken); status != 403 {
		t.Errorf("userinfo with a token without openid: HTTP %d", status)
	}

	// Standards servers such as node oidc-provider put only the protocol
	// claims in the code flow's ID token; the account is at userinfo.
	s.SetMinimalIDTokens(true)
	tok = tokenFor(t, s, cfg, carol, googleOffline...)
	if c := idClaims(t, tok); c == nil || c["email"] != nil || c["sub"] == nil {
		t.Errorf("minimal ID token: %v", c)
	}
	if _, _, info := getJSON(t, s.URL()+"/google/v1/userinfo", tok.AccessToken); info["email"] != carol {
		t.Errorf("userinfo with minimal ID tokens: %v", info)
	}
}

// Both providers echo the authorization request's nonce in the ID token of
// the code's answer (OIDC Core §3.1.3.7 has the client check it), and put
// none in a refresh's.
func TestConformance_NonceEchoed(t *testing.T) {
	s, _ := newWorld(t)
	ms := msConfig(s)
	ms.Scopes = append(ms.Scopes, "openid", "profile")
	g := googleConfig(s, gWebID)
	g.Scopes = []string{gmailScope, "openid", "email"}
	for _, c := range []struct {
		name  string
		cfg   *oauth2.Config
		user  string
		extra []oauth2.AuthCodeOption
	}{
		{"microsoft", ms, alice, nil},
		{"google", g, carol, googleOffline},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := tokenFor(t, s, c.cfg, c.user, append(c.extra, oauth2.SetAuthURLParam("nonce", "nonce-"+c.name))...)
			if got := idClaims(t, tok)["nonce"]; got != "nonce-"+c.name {
				t.Fatalf("nonce = %v", got)
			}
			r, err := c.cfg.TokenSource(context.Background(), &oauth2.Token{RefreshToken: tok.RefreshToken}).Token()
			if err != nil {
				t.Fatal(err)
			}
			if claims := idClaims(t, r); claims == nil || claims["nonce"] != nil {
				t.Fatalf("refresh ID token: %v", claims)
			}
		})
	}
}
