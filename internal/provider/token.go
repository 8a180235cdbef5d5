package provider

import (
	"time"

	"golang.org/x/oauth2"

	"mailtokens/internal/advice"
	"mailtokens/internal/secret"
)

// Token is what a provider issued.
type Token struct {
	AccessToken  secret.Secret
	RefreshToken secret.Secret // zero when none was issued (or, on refresh, not rotated)
	// ExpiresIn is the access token's lifetime as the provider stated it,
	// counted from when the answer arrived; 0 when it did not say.
	ExpiresIn time.Duration
	Scope     string // the scopes granted, as the provider listed them
	// RefreshExpiresIn is the refresh token's lifetime when the provider
	// states one: Google does for apps in "Testing" (7 days). 0 = unknown.
	RefreshExpiresIn time.Duration
	// Account is who signed in, from the ID token or the userinfo
	// endpoint (account.go); set by Exchange and PollDevice, "" when
	// unknown. Never a reason for a sign-in to fail.
	Account string
}

// fromOAuth2 converts x/oauth2's token, checked as a pasted one is (op
// names the flow in the error). presentedRT is the refresh token sent with
// a refresh request: x/oauth2 copies it into the answer when the provider
// sent none, which would hide whether the provider rotated it.
func (c Config) fromOAuth2(op string, t *oauth2.Token, presentedRT string) (*Token, error) {
	if err := checkIssued(t.AccessToken, t.RefreshToken, t.TokenType, t.ExpiresIn); err != nil {
		return nil, &Error{Op: op, Provider: c.Type, Kind: advice.Misconfigured, Code: "invalid_token_response",
			Description: "the provider's answer cannot be used: " + err.Error(), Err: err}
	}
	expiresIn := t.ExpiresIn
	if n, ok := t.Extra("expires_in").(float64); ok && expiresIn == 0 && n > 0 && n <= maxExpiresIn {
		// x/oauth2's client credentials answer keeps only the expiry
		// time; the lifetime as stated is in the raw answer.
		expiresIn = int64(n)
	}
	out := &Token{
		AccessToken: secret.New(t.AccessToken),
		ExpiresIn:   time.Duration(expiresIn) * time.Second,
	}
	if t.RefreshToken != "" && t.RefreshToken != presentedRT {
		out.RefreshToken = secret.New(t.RefreshToken)
	}
	if s, ok := t.Extra("scope").(string); ok {
		out.Scope = s
	}
	if n, ok := t.Extra("refresh_token_expires_in").(float64); ok && n > 0 && !out.RefreshToken.IsZero() {
		out.RefreshExpiresIn = time.Duration(n) * time.Second
	}
	return out, nil
}
