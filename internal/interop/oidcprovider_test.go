package interop

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/oidcprovider"
	"mailtokens/internal/tokenstore"
)

// What the product does today with an "Other OAuth2 provider" that is a
// real, standards-compliant server: the admin types the authorization and
// token URLs, a client_secret_post client and the scope; `evadmin token
// login` signs in with the code flow and PKCE; evmail receives over IMAP
// and batchmail sends through submission at a Dovecot that introspects
// the server's opaque tokens; the workers refresh the token themselves,
// and it keeps working whether the server rotates refresh tokens or not.
//
// The access tokens live 4 seconds. The store refreshes a token this
// short-lived once half its life has passed (tokenstore's fresh); each
// step below waits for that, so every worker run refreshes through
// tokenstore.Source, under its lease, before it logs in.
//
// The server issues refresh tokens without prompt=consent here
// (RefreshWithoutConsent): the product sends prompt=consent only to
// Microsoft and Google today. TestStandardOfflineAccess is the standard
// case.
func TestCodeFlowWithPKCE(t *testing.T) {
	t.Parallel()
	const accessTTL = 4 * time.Second
	for _, tc := range []struct {
		name   string
		rotate bool
	}{
		{"refresh tokens rotate", true},
		{"refresh tokens stay", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t, oidcprovider.Options{RotateRefreshToken: tc.rotate, RefreshWithoutConsent: true, AccessTokenTTL: accessTTL})
			w.addToken("oidc", postClient, mailScope)
			out := w.mustLogin("oidc", false)
			if strings.Contains(out, "no refresh token") {
				t.Fatalf("token login:\n%s", out)
			}
			signedIn := w.token("oidc")
			if !signedIn.HasRefreshToken || signedIn.Status != tokenstore.StatusValid {
				t.Fatalf("after token login: status %s, refresh token %v", signedIn.Status, signedIn.HasRefreshToken)
			}
			// Who signed in: oidc-provider's ID token in the code flow has
			// only sub; the account comes from its userinfo endpoint,
			// found through discovery at the issuer.
			if signedIn.SignedInAs != mailbox {
				t.Errorf("signed in as %q, want %q (userinfo's email)", signedIn.SignedInAs, mailbox)
			}
			w.checkActive(signedIn.AccessToken, true)

			previous := signedIn
			step := func(what string, use func()) {
				t.Helper()
				time.Sleep(time.Until(previous.AccessIssuedAt.Add(previous.Expiry.Sub(previous.AccessIssuedAt)/2 + 100*time.Millisecond)))
				use()
				now := w.token("oidc")
				if now.AccessToken.Reveal() == previous.AccessToken.Reveal() {
					t.Fatalf("%s: the short-lived access token was not refreshed", what)
				}
				rotated := now.RefreshToken.Reveal() != previous.RefreshToken.Reveal()
				if rotated != tc.rotate {
					t.Fatalf("%s: refresh token changed: %v, want %v", what, rotated, tc.rotate)
				}
				if now.Status != tokenstore.StatusValid {
					t.Fatalf("%s: status %s: %s", what, now.Status, now.LastError.Text)
				}
				w.checkActive(now.AccessToken, true)
				previous = now
			}
			step("evmail", func() { w.receive("oidc") })
			step("batchmail", func() { w.send("oidc") })
			step("evadmin token refresh", func() { w.mustEvadmin("", "token", "refresh", "oidc") })
			step("evmail again", func() { w.receive("oidc") })

			if !tc.rotate {
				return
			}
			// The server really rotates: the refresh token of the sign-in
			// was spent by the first refresh. Presenting it again is what a
			// store that lost a rotated token would do; oidc-provider then
			// revokes the whole grant, and the product must say that a
			// person has to sign in again.
			if status, code := w.redeemRefreshToken(postClient, signedIn.RefreshToken.Reveal()); status != http.StatusBadRequest || code != "invalid_grant" {
				t.Fatalf("a spent refresh token: %d %q, want 400 invalid_grant", status, code)
			}
			if code, out, errs := w.evadmin("", "token", "refresh", "oidc"); code == 0 {
				t.Fatalf("token refresh after the grant was revoked succeeded:\n%s", out)
			} else {
				t.Logf("token refresh after the grant was revoked: exit %d\n%s", code, errs)
			}
			if now := w.token("oidc"); now.Status != tokenstore.StatusNeedsAuthorization {
				t.Fatalf("after the grant was revoked: status %s (%s), want needs authorization", now.Status, now.LastError.Text)
			}
			// Get Email Token again (here: token login) restores it.
			w.mustLogin("oidc", false)
			w.receive("oidc")
		})
	}
}

// A public client (token_endpoint_auth_method none): no secret, PKCE
// alone proves the code's redeemer. `token add --no-client-secret`; the
// form body then carries client_id and no secret, which is right for it.
func TestPublicClient(t *testing.T) {
	t.Parallel()
	w := newWorld(t, oidcprovider.Options{RotateRefreshToken: true, RefreshWithoutConsent: true})
	w.addToken("public", publicClient, mailScope)
	w.mustLogin("public", false)
	w.receive("public")
	before := w.token("public")
	w.mustEvadmin("", "token", "refresh", "public")
	after := w.token("public")
	if after.RefreshToken.Reveal() == before.RefreshToken.Reveal() {
		t.Fatal("the refresh token did not rotate")
	}
	w.send("public")
}
