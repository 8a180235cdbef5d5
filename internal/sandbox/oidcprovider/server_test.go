package oidcprovider

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
)

// The harness itself: a code flow with PKCE and a device flow driven
// through oidc-provider's own pages, and the tokens they bring as Dovecot
// sees them by introspection. x/oauth2 is the client here, not the
// product; the product's tests are in internal/interop.
func TestHarness(t *testing.T) {
	const redirect = "http://127.0.0.1:9/oauth2/callback"
	s := Start(t, Options{
		Clients: []Client{
			{ID: "web", Secret: "web-secret", AuthMethod: ClientSecretBasic, RedirectURIs: []string{redirect}},
			{ID: "device", AuthMethod: None},
		},
	})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg := oauth2.Config{
		ClientID: "web", ClientSecret: "web-secret", RedirectURL: redirect,
		Endpoint: oauth2.Endpoint{AuthURL: s.AuthURL, TokenURL: s.TokenURL, DeviceAuthURL: s.DeviceURL, AuthStyle: oauth2.AuthStyleInHeader},
		Scopes:   []string{"openid", "email", "offline_access"},
	}

	t.Run("code flow", func(t *testing.T) {
		verifier := oauth2.GenerateVerifier()
		back, err := s.SignIn(ctx, cfg.AuthCodeURL("st4te", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("prompt", "consent")), DefaultUser, "any password")
		if err != nil {
			t.Fatal(err)
		}
		q := back.Query()
		if q.Get("state") != "st4te" || q.Get("code") == "" || q.Get("iss") != s.Issuer {
			t.Fatalf("redirected to %s", back)
		}
		tok, err := cfg.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
		if err != nil {
			t.Fatal(err)
		}
		if tok.RefreshToken == "" || tok.Extra("id_token") == nil {
			t.Fatalf("no refresh token or ID token with offline_access and prompt=consent: %+v", tok)
		}
		checkIntrospection(t, s, tok.AccessToken, "web")
	})

	// x/oauth2's DeviceAuth sends client_id alone, no client
	// authentication: fine for a public client, refused (invalid_client)
	// for a confidential one, which RFC 8628 §3.1 asks to authenticate.
	t.Run("device flow", func(t *testing.T) {
		cfg := cfg
		cfg.ClientID, cfg.ClientSecret, cfg.Endpoint.AuthStyle = "device", "", oauth2.AuthStyleInParams
		da, err := cfg.DeviceAuth(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if da.VerificationURI != s.Issuer+"/device" {
			t.Errorf("verification_uri %q", da.VerificationURI)
		}
		approved := make(chan error, 1)
		go func() { approved <- s.ApproveDevice(ctx, da.UserCode, DefaultUser, "any password") }()
		tok, err := cfg.DeviceAccessToken(ctx, da)
		if err != nil {
			t.Fatal(err)
		}
		if err := <-approved; err != nil {
			t.Fatal(err)
		}
		checkIntrospection(t, s, tok.AccessToken, "device")
	})

	t.Run("a wrong device code", func(t *testing.T) {
		if err := s.ApproveDevice(ctx, "BCDF-GHJK", DefaultUser, "x"); err == nil {
			t.Fatal("a code nobody asked for was approved")
		}
	})

	// Registered for client_secret_basic, the web client's secret in the
	// form body is refused as a server configured for Basic only refuses
	// it; with Basic the same request gets as far as the bogus grant.
	t.Run("a client authenticates only as registered", func(t *testing.T) {
		form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"bogus"}, "client_id": {"web"}}
		post := func(basic bool) (int, string) {
			f := url.Values{}
			maps.Copy(f, form)
			if !basic {
				f.Set("client_secret", "web-secret")
			}
			req, _ := http.NewRequest(http.MethodPost, s.TokenURL, strings.NewReader(f.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if basic {
				req.SetBasicAuth("web", "web-secret")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e struct{ Error string }
			json.NewDecoder(resp.Body).Decode(&e)
			return resp.StatusCode, e.Error
		}
		if status, code := post(false); status != http.StatusUnauthorized || code != "invalid_client" {
			t.Errorf("secret in the body: %d %s, want 401 invalid_client", status, code)
		}
		if status, code := post(true); status != http.StatusBadRequest || code != "invalid_grant" {
			t.Errorf("secret as Basic: %d %s, want 400 invalid_grant", status, code)
		}
	})

	t.Run("introspection needs client authentication", func(t *testing.T) {
		resp, err := http.PostForm(s.IntrospectionURL, map[string][]string{"token": {"x"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode/100 == 2 {
			t.Fatalf("introspection without client authentication: %s", resp.Status)
		}
	})
}

func checkIntrospection(t *testing.T, s *Server, token, client string) {
	t.Helper()
	got, err := s.Introspect(context.Background(), token)
	if err != nil {
		t.Fatal(err)
	}
	if got["active"] != true || got["email"] != DefaultEmail || got["sub"] != DefaultUser || got["client_id"] != client {
		t.Fatalf("introspection: %v", got)
	}
}
