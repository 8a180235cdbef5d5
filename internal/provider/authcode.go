package provider

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"

	"golang.org/x/oauth2"
)

// AuthRequest is one started authorization-code sign-in. State and Verifier
// must be kept server-side (bound to the admin's session) until the
// provider redirects back.
type AuthRequest struct {
	URL      string // where to send the browser
	State    string // random, single use; compare with the callback's state
	Verifier string // PKCE code verifier for Exchange
}

// NewState returns 32 random bytes, URL-safe.
func NewState() string {
	b := make([]byte, 32)
	rand.Read(b) // never fails (crypto/rand panics on failure since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b)
}

// StartAuth builds the sign-in URL with a random state and a PKCE S256
// challenge. Google also gets access_type=offline and prompt=consent: Google
// sends a refresh token only at the first consent unless the consent screen
// is shown again, so Get Email Token must work a second time too.
func (c Config) StartAuth() (AuthRequest, error) {
	if c.RedirectURL == "" {
		return AuthRequest{}, errors.New("start sign-in: no redirect URI configured (set PUBLIC_URL)")
	}
	if c.Endpoints().Auth == "" {
		return AuthRequest{}, errors.New("start sign-in: no authorization URL for this token")
	}
	req := AuthRequest{State: NewState(), Verifier: oauth2.GenerateVerifier()}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(req.Verifier)}
	if c.Type == Google {
		opts = append(opts, oauth2.AccessTypeOffline, oauth2.ApprovalForce)
	}
	if c.Email != "" {
		opts = append(opts, oauth2.SetAuthURLParam("login_hint", c.Email))
	}
	req.URL = c.oauth2Config(c.Scopes()).AuthCodeURL(req.State, opts...)
	return req, nil
}

// Exchange redeems the code the provider sent to the callback, and says
// who signed in (Token.Account).
func (c Config) Exchange(ctx context.Context, code, verifier string) (*Token, error) {
	t, err := c.oauth2Config(c.Scopes()).Exchange(c.ctx(ctx), code, oauth2.VerifierOption(verifier))
	if err != nil {
		return nil, c.wrap("exchange authorization code", err)
	}
	out, err := c.fromOAuth2("exchange authorization code", t, "")
	if err != nil {
		return nil, err
	}
	out.Account = c.accountOf(ctx, t)
	return out, nil
}
