package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrNoRevocation means the provider cannot revoke one token: the token is
// forgotten locally and RevokeAdvice says how to cut access at the provider.
var ErrNoRevocation = errors.New("the provider has no token revocation endpoint")

// RevokeAdvice tells an admin how to revoke access where the provider
// offers no API for it.
func (c Config) RevokeAdvice() string {
	switch c.Type {
	case Microsoft:
		return "Microsoft has no endpoint to revoke one token; the tokens were deleted here. To cut the app's access at Microsoft, remove its consent in the Entra admin center (Enterprise applications > the app > Permissions, or Users > the user > Applications), or revoke the user's sessions (Revoke-MgUserSignInSession)."
	case Google:
		return "Access was revoked at Google; it can also be checked at https://myaccount.google.com/permissions."
	}
	if c.Endpoints().Revoke != "" {
		return "The tokens were revoked at the provider and deleted here."
	}
	return "This provider has no revocation URL configured; the tokens were deleted here. Revoke the app's access in the provider's console if needed."
}

// Revoke asks the provider to revoke token (RFC 7009), authenticating
// the client at other providers. Revoking a Google refresh token also
// ends the access tokens issued from it. It returns
// ErrNoRevocation where the provider has no such endpoint (Microsoft).
func (c Config) Revoke(ctx context.Context, token string) error {
	endpoint := c.Endpoints().Revoke
	if c.Type == Microsoft || endpoint == "" {
		return ErrNoRevocation
	}
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, nil)
	if err != nil {
		return fmt.Errorf("revoke: %w", err)
	}
	if c.Type == Generic {
		// RFC 7009 §2.1: a confidential client authenticates as it does at
		// the token endpoint; servers answer 401 invalid_client without.
		// Google's endpoint takes the token alone.
		c.clientAuth().apply(req, form)
	}
	body := form.Encode()
	req.Body, req.ContentLength = io.NopCloser(strings.NewReader(body)), int64(len(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return c.wrap("revoke", err)
	}
	defer resp.Body.Close()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	e := c.newError("revoke")
	e.fromAnswer(resp.StatusCode, answer)
	// Revoking a token the provider already forgot is success for us.
	if e.Code == "invalid_token" {
		return nil
	}
	return e
}
