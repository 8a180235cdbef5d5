package interop

import (
	"context"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/oidcprovider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// Issue 12, discovery (RFC 8414 / OpenID Connect Discovery): the admin
// gives the issuer; the endpoints, the client authentication method and
// offline_access come from {issuer}/.well-known/openid-configuration.
// This file uses the std branch's API (provider.Config.Discover,
// Discovery.Apply, provider.ClientSecretBasic) and is built only with
// -tags std12 until that branch is merged: then drop the build line.
//
// The server is standard (no RefreshWithoutConsent): Apply adds
// offline_access, StartAuth sends prompt=consent, a refresh token comes
// back. The client is registered for client_secret_basic only, the first
// method oidc-provider lists.
func TestDiscovery(t *testing.T) {
	t.Parallel()
	w := newWorld(t, oidcprovider.Options{RotateRefreshToken: true})
	set := tokenstore.Settings{Name: "disc", Config: provider.Config{Type: provider.Generic, Email: mailbox,
		ClientID: basicClient, ClientSecret: secret.New(clientSecret), Scope: "openid email"}}
	d, err := set.Discover(context.Background(), w.op.Issuer)
	if err != nil {
		t.Fatal(err)
	}
	d.Apply(&set.Config, true)
	e := w.op
	if set.AuthURL != e.AuthURL || set.TokenURL != e.TokenURL || set.DeviceURL != e.DeviceURL || set.RevokeURL != e.RevokeURL ||
		set.UserinfoURL != e.UserinfoURL || set.Issuer != e.Issuer {
		t.Fatalf("discovered %+v, want the endpoints of %s", set.Config, e.Issuer)
	}
	if set.ClientAuth != provider.ClientSecretBasic || !provider.HasScope(set.Scope, provider.OfflineAccess) {
		t.Fatalf("client authentication %q, scope %q", set.ClientAuth, set.Scope)
	}
	w.createToken(set)
	w.mustLogin("disc", false)
	if tok := w.token("disc"); !tok.HasRefreshToken || tok.SignedInAs != mailbox {
		t.Fatalf("refresh token %v, signed in as %q", tok.HasRefreshToken, tok.SignedInAs)
	}
	w.receive("disc")
	w.mustEvadmin("", "token", "refresh", "disc")
	w.send("disc")
	before := w.token("disc")
	w.mustEvadmin("", "token", "revoke", "disc", "--force")
	w.checkActive(before.AccessToken, false)
}
