package provider

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

// idClaims are the claims that can name the account.
type idClaims struct {
	Nonce             string `json:"nonce"`
	Email             string `json:"email"`
	PreferredUsername string `json:"preferred_username"`
	UPN               string `json:"upn"`
}

// AccountFromIDToken is the account an ID token names for a provider of
// type t, or "" when it names none that can be shown.
func AccountFromIDToken(t Type, idToken string) string {
	c, ok := readIDToken(idToken)
	if !ok {
		return ""
	}
	return c.account(t)
}

// readIDToken reads the claims of a JWT-shaped ID token, unchecked (see
// above); ok is false when it is not one.
func readIDToken(idToken string) (c idClaims, ok bool) {
	parts := strings.Split(idToken, ".")
	if len(parts) != 3 {
		return c, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return c, false
	}
	if json.Unmarshal(payload, &c) != nil {
		return idClaims{}, false
	}
	return c, true
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
	userinfo := c.userinfoURL(ctx)
	if userinfo == "" {
		return ""
	}
	body, _, err := c.get(ctx, userinfo, t.AccessToken)
	var claims idClaims
	if err != nil || json.Unmarshal(body, &claims) != nil {
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
