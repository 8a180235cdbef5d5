package provider

import (
	"context"

	"golang.org/x/oauth2/clientcredentials"

	"mailtokens/internal/advice"
)

// AppOnly gets an access token for the app itself (client credentials, no
// user, no refresh token). At Microsoft the app needs the IMAP.AccessAsApp,
// POP.AccessAsApp or SMTP.SendAsApp application permission and a service
// principal registered in Exchange Online. The app proves itself with its
// client secret or, with ClientAuth private_key_jwt, a certificate
// (assertion.go). A Google token with a service account's key gets a
// token for its mailbox instead (serviceaccount.go).
func (c Config) AppOnly(ctx context.Context) (*Token, error) {
	if c.ServiceAccountMode() {
		return c.ServiceAccountToken(ctx)
	}
	if c.ClientSecret.IsZero() && c.ClientAuth != ClientAuthPrivateKeyJWT {
		return nil, &Error{Op: "client credentials", Provider: c.Type, Kind: advice.Misconfigured,
			Code: "invalid_client", Description: "app-only access needs the client secret"}
	}
	cc := clientcredentials.Config{
		ClientID:     c.ClientID,
		ClientSecret: c.ClientSecret.Reveal(),
		TokenURL:     c.Endpoints().Token,
		Scopes:       c.AppOnlyScopes(),
		AuthStyle:    c.clientAuth().style,
	}
	t, err := cc.Token(c.ctx(ctx))
	if err != nil {
		return nil, c.wrap("client credentials", err)
	}
	return c.fromOAuth2("client credentials", t, "")
}
