package provider

import (
	"context"
	"errors"

	"golang.org/x/oauth2"

	"mailtokens/internal/advice"
)

// Refresh trades a refresh token for a new access token. The answer's
// RefreshToken is set only when the provider rotated it (Microsoft does on
// every refresh); the caller must store it before anything else.
func (c Config) Refresh(ctx context.Context, refreshToken string) (*Token, error) {
	if refreshToken == "" {
		return nil, &Error{Op: "refresh", Provider: c.Type, Kind: advice.Reauthorize,
			Code: "no_refresh_token", Description: "no refresh token is stored for this token"}
	}
	// No scopes: both providers keep the scopes of the original grant.
	ts := c.oauth2Config(nil).TokenSource(c.ctx(ctx), &oauth2.Token{RefreshToken: refreshToken})
	t, err := ts.Token()
	if err != nil {
		return nil, c.wrap("refresh", err)
	}
	return c.fromOAuth2("refresh", t, refreshToken)
}

// errNoEndpoint is returned when a flow needs an endpoint the config lacks.
var errNoEndpoint = errors.New("no endpoint configured")
