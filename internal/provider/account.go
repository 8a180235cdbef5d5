package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// Who signed in. An interactive sign-in (Get Email Token, the device flow)
// asks for the OpenID scopes at Microsoft and Google (Config.Scopes), and
// the token answer then carries an ID token naming the account:
//
//   - Microsoft: preferred_username (the sign-in name, with the profile
//     scope), else email (with the email scope; not always set), else upn.
//   - Google: email (with the email scope).
//   - Other providers: email, else preferred_username, from the ID token
//     when the answer has one with either; otherwise, when the admin's scope
//     has openid, from the userinfo endpoint that OIDC discovery
//     (/.well-known/openid-configuration) names at the issuer, found by
//     walking up the authorization URL's path. Servers such as node
//     oidc-provider put only sub in the code flow's ID token.
//
// The ID token is read without checking its signature: it came straight
// from the token endpoint over TLS, in answer to our own authenticated
// request, which OpenID Connect Core 1.0 §3.1.3.7 (item 6) allows in place
// of the signature check. The account is only shown and compared with the
// token's Email Address, never used to authorize anything.
//
// Not knowing who signed in never fails a sign-in: Account stays "".

// maxAccount bounds an account name (an address is at most 254 bytes).
const maxAccount = 320

// maxDiscoveryBody bounds what is read of a discovery or userinfo answer.
const maxDiscoveryBody = 64 << 10

// maxDiscoveryTries bounds the issuers tried along the authorization URL's
// path (Keycloak's /realms/x/protocol/openid-connect/auth needs three).
const maxDiscoveryTries = 5

// idClaims are the claims that can name the account.
type idClaims struct {
	Email             string `json:"email"`
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
}

// AccountFromIDToken is the account an ID token names for a provider of
// type t, or "" when it names none that can be shown.
func AccountFromIDToken(t Type, idToken string) string {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return ""
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return ""
	}
	var c idClaims
	if json.Unmarshal(payload, &c) != nil {
		return ""
	}
	return c.account(t)
}

// account picks the claim each provider sets.
func (c idClaims) account(t Type) string {
	var order []string
	switch t {
	case Microsoft:
		order = []string{c.PreferredUsername, c.Email, c.UPN}
	case Google:
		order = []string{c.Email}
	default:
		order = []string{c.Email, c.PreferredUsername}
	}
	for _, a := range order {
		if a = cleanAccount(a); a != "" {
			return a
		}
	}
	return ""
}

// cleanAccount is a as it can be stored and shown, or "".
func cleanAccount(a string) string {
	a = strings.TrimSpace(a)
	if len(a) > maxAccount {
		return ""
	}
	for _, r := range a {
		if r < ' ' || r == 0x7f {
			return ""
		}
	}
	return a
}

// accountOf says who signed in for the token answer t (see above).
func (c Config) accountOf(ctx context.Context, t *oauth2.Token) string {
	if raw, ok := t.Extra("id_token").(string); ok && raw != "" {
		if a := AccountFromIDToken(c.Type, raw); a != "" || c.Type != Generic {
			return a
		}
	}
	if c.Type != Generic || !hasOpenID(c.Scopes()) {
		return ""
	}
	userinfo := c.discoverUserinfo(ctx)
	if userinfo == "" {
		return ""
	}
	var claims idClaims
	if !c.getJSON(ctx, userinfo, t.AccessToken, &claims) {
		return ""
	}
	return claims.account(c.Type)
}

func hasOpenID(scopes []string) bool {
	for _, s := range scopes {
		if s == "openid" {
			return true
		}
	}
	return false
}

// discoveryDoc is the part of an OIDC discovery document used here.
type discoveryDoc struct {
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
}

// discoverUserinfo finds the userinfo endpoint of the issuer behind the
// authorization URL: {issuer}/.well-known/openid-configuration for each
// issuer along the URL's path, longest first. A document counts only when
// it lists our authorization or token endpoint, so the access token never
// goes to a server that is not the one that issued it.
func (c Config) discoverUserinfo(ctx context.Context) string {
	e := c.Endpoints()
	u, err := url.Parse(e.Auth)
	if err != nil || checkURL(e.Auth) != "" {
		return ""
	}
	path := strings.TrimSuffix(u.Path, "/")
	for range maxDiscoveryTries {
		i := strings.LastIndex(path, "/")
		if i < 0 {
			break
		}
		path = path[:i]
		doc := url.URL{Scheme: u.Scheme, Host: u.Host, Path: path + "/.well-known/openid-configuration"}
		var d discoveryDoc
		if !c.getJSON(ctx, doc.String(), "", &d) {
			continue
		}
		if d.AuthorizationEndpoint != e.Auth && d.TokenEndpoint != e.Token {
			continue
		}
		if d.UserinfoEndpoint == "" || checkURL(d.UserinfoEndpoint) != "" {
			return ""
		}
		return d.UserinfoEndpoint
	}
	return ""
}

// getJSON GETs target (with bearer, when set) and decodes a 200 JSON
// answer into v; it reports whether that worked.
func (c Config) getJSON(ctx context.Context, target, bearer string, v any) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody))
	return err == nil && json.Unmarshal(body, v) == nil
}
