package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"

	"mailtokens/internal/advice"
)

// AuthRequest is one started authorization-code sign-in. State and the
// Proof must be kept server-side (bound to the admin's session) until the
// provider redirects back.
type AuthRequest struct {
	URL   string // where to send the browser
	State string // random, single use; compare with the callback's state
	Proof
}

// Proof is what a started sign-in keeps to check the provider's answer
// with: Exchange takes it.
type Proof struct {
	Verifier string // PKCE code verifier, sent with the code
	// Nonce is the OpenID Connect nonce sent with the request whenever
	// the scope has openid; the ID token must carry it back. "" when
	// none was sent.
	Nonce string
}

// NewState returns 32 random bytes, URL-safe.
func NewState() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on failure since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartAuth builds the sign-in URL with a random state and a PKCE S256
// challenge, and a random nonce when the scope has openid (OpenID Connect
// Core §3.1.2.1; some servers refuse openid without one, even in the code
// flow). Google also gets access_type=offline and prompt=consent: Google
// sends a refresh token only at the first consent unless the consent
// screen is shown again, so Get Email Token must work a second time too.
// Other providers get prompt=consent with offline_access, which OpenID
// Connect Core §11 makes the condition for honouring it. The admin's
// AuthParams come last and may override prompt, access_type and
// login_hint, but nothing that ties the answer to this request.
func (c Config) StartAuth() (AuthRequest, error) {
	if c.RedirectURL == "" {
		return AuthRequest{}, errors.New("start sign-in: no redirect URI configured (set PUBLIC_URL)")
	}
	if c.Endpoints().Auth == "" {
		return AuthRequest{}, errors.New("start sign-in: no authorization URL for this token")
	}
	extra, msg := parseAuthParams(c.AuthParams)
	if msg != "" {
		return AuthRequest{}, fmt.Errorf("start sign-in: the extra authorization parameters %s", msg)
	}
	scopes := c.Scopes()
	req := AuthRequest{State: NewState(), Proof: Proof{Verifier: oauth2.GenerateVerifier()}}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.Verifier)}
	if hasOpenID(scopes) {
		req.Nonce = NewState()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", req.Nonce))
	}
	switch {
	case c.Type == Google:
		opts = append(opts, oauth2.AccessTypeOffline, oauth2.ApprovalForce)
	case c.Type == Generic && slices.Contains(scopes, OfflineAccess):
		opts = append(opts, oauth2.ApprovalForce)
	}
	if c.Email != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", c.Email))
	}
	for k, vs := range extra {
		opts = append(opts, oauth2.SetAuthURLParam(k, vs[0]))
	}
	req.URL = c.oauth2Config(scopes).AuthCodeURL(req.State, opts...)
	return req, nil
}

// reservedAuthParams are the authorization request parameters the admin's
// AuthParams may not set: they carry the request's identity, its binding
// to this sign-in (state, PKCE, nonce) or the client's secret, or have
// their own field (scope).
var reservedAuthParams = []string{
	"client_id", "client_secret", "redirect_uri", "response_type", "response_mode", "state",
	"code_challenge", "code_challenge_method", "nonce", "scope", "request", "request_uri",
}

// parseAuthParams reads the admin's extra authorization parameters, a
// query string ("prompt=login&acr_values=mfa"), and returns why they
// cannot be used, or "".
func parseAuthParams(s string) (url.Values, string) {
	s = strings.TrimPrefix(strings.TrimSpace(s), "?")
	if s == "" {
		return nil, ""
	}
	if strings.ContainsAny(s, " \t\r\n#") {
		return nil, "must be one query string without spaces or #, like prompt=login&acr_values=mfa"
	}
	v, err := url.ParseQuery(s)
	if err != nil {
		return nil, fmt.Sprintf("are not a query string (%v): write them like prompt=login&acr_values=mfa", err)
	}
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		switch {
		case k == "":
			return nil, "have a value without a name: write them like prompt=login&acr_values=mfa"
		case slices.Contains(reservedAuthParams, strings.ToLower(k)):
			return nil, fmt.Sprintf("must not set %s: mailtokens sets it for every sign-in", k)
		case len(v[k]) > 1:
			return nil, fmt.Sprintf("name %s twice: give each parameter once", k)
		}
	}
	return v, ""
}

// ErrNonceMismatch means the ID token in a code exchange's answer does not
// carry the nonce the sign-in sent: it was not issued for this sign-in.
var ErrNonceMismatch = errors.New("the ID token does not carry the nonce this sign-in sent")

// Exchange redeems the code the provider sent to the callback, checks
// that the ID token (when the answer has one) carries the nonce the
// sign-in sent, and says who signed in (Token.Account).
func (c Config) Exchange(ctx context.Context, code string, p Proof) (*Token, error) {
	const op = "exchange authorization code"
	t, err := c.oauth2Config(c.Scopes()).Exchange(c.ctx(ctx), code, oauth2.VerifierOption(p.Verifier))
	if err != nil {
		return nil, c.wrap(op, err)
	}
	out, err := c.fromOAuth2(op, t, "")
	if err != nil {
		return nil, err
	}
	if raw, ok := t.Extra("id_token").(string); ok && raw != "" && p.Nonce != "" {
		if claims, ok := readIDToken(raw); !ok || claims.Nonce != p.Nonce {
			got := "no nonce"
			if claims.Nonce != "" {
				got = "another nonce"
			} else if !ok {
				got = "a token that cannot be read"
			}
			return nil, &Error{Op: op, Provider: c.Type, Kind: advice.Reauthorize, Code: "nonce_mismatch",
				Description: "the ID token carries " + got + " instead of the nonce this sign-in sent", Err: ErrNonceMismatch,
				RedirectURL: c.RedirectURL, Tenant: c.Tenant}
		}
	}
	out.Account = c.accountOf(ctx, t)
	return out, nil
}
