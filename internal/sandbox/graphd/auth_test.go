package graphd

import (
	"net/http"
	"testing"
	"time"

	"mailtokens/internal/provider"
)

// Tokens Graph refuses, with Graph's words: 401 InvalidAuthenticationToken
// (and a WWW-Authenticate header) for no, a malformed, an expired token or
// one meant for another resource (Exchange's IMAP token, a Google token).
func TestUnauthenticated(t *testing.T) {
	f := newFixture(t)
	path := "/v1.0/users/" + f.World.MSUser + "/mailFolders/inbox/messages/delta"
	expired := f.userToken(t)
	for _, tc := range []struct {
		name, token, message string
	}{
		{"no token", "", "Access token is empty."},
		{"not a JWT", "not-a-token", errTokenMalformed.message},
		{"Exchange token", f.Token(t, provider.Microsoft, f.World.MSUser), "Access token validation failure. Invalid audience."},
		{"Google token", f.Token(t, provider.Google, f.World.GoogleUser), "Access token validation failure. Invalid audience."},
		{"Exchange app-only token", f.AppToken(t, "https://outlook.office365.com"), "Access token validation failure. Invalid audience."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", path, tc.token, nil)
			wantError(t, tc.name, r, http.StatusUnauthorized, "InvalidAuthenticationToken", tc.message)
			if r.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
	}
	f.Clock.Advance(2 * time.Hour)
	wantError(t, "expired", f.do(t, "GET", path, expired, nil), http.StatusUnauthorized, "InvalidAuthenticationToken",
		"Lifetime validation failed, the token is expired.")
}

// Who may reach which mailbox: a delegated token needs the scope and its
// own mailbox (or a .Shared scope and Full Access); an app-only token
// needs the role and, under RBAC for Applications, a mailbox in its
// scope. Unknown and REST-disabled mailboxes are 404s.
func TestAuthorization(t *testing.T) {
	f := newFixture(t)
	w := f.World
	f.Directory.GrantFullAccess(w.MSSharedMailbox, w.MSUser)
	f.srv.DisableREST("onprem@contoso.example")
	f.imap.AddMailbox("onprem@contoso.example")
	f.imap.AddMailbox("ceo@contoso.example")
	full := f.userToken(t)
	sendOnly := f.userToken(t, "Mail.Send")
	shared := f.userToken(t, "Mail.ReadWrite.Shared")
	app := f.AppToken(t, "https://graph.microsoft.com")
	delta := func(user string) string { return "/v1.0/users/" + user + "/mailFolders/inbox/messages/delta" }
	denied := "Access is denied. Check credentials and try again."

	for _, tc := range []struct {
		name, token, path string
		status            int
		code, message     string
	}{
		{"own mailbox", full, delta(w.MSUser), 200, "", ""},
		{"own mailbox by /me", full, "/v1.0/me/mailFolders/inbox/messages/delta", 200, "", ""},
		{"UPN in other case", full, delta("Support@Contoso.Example"), 200, "", ""},
		{"scope missing", sendOnly, delta(w.MSUser), 403, "ErrorAccessDenied", denied},
		{"another user's mailbox", full, delta(w.MSOtherUser), 403, "ErrorAccessDenied", denied},
		{"shared mailbox without .Shared scope", full, delta(w.MSSharedMailbox), 403, "ErrorAccessDenied", denied},
		{"shared mailbox with Full Access", shared, delta(w.MSSharedMailbox), 200, "", ""},
		{"other user with .Shared but no Full Access", shared, delta(w.MSOtherUser), 403, "ErrorAccessDenied", denied},
		{"unknown user", full, delta("nobody@contoso.example"), 404, "ErrorInvalidUser", "The requested user 'nobody@contoso.example' is invalid."},
		{"REST disabled", full, delta("onprem@contoso.example"), 404, "MailboxNotEnabledForRESTAPI", ""},
		{"app-only, unscoped", app, delta(w.MSOtherUser), 200, "", ""},
		{"app-only on /me", app, "/v1.0/me/mailFolders/inbox/messages/delta", 400, "BadRequest", "/me request is only valid with delegated authentication flow."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := f.do(t, "GET", tc.path, tc.token, nil)
			if tc.code == "" {
				if r.Status != tc.status {
					t.Fatalf("HTTP %d %s, want %d", r.Status, r.Body, tc.status)
				}
				return
			}
			wantError(t, tc.name, r, tc.status, tc.code, tc.message)
		})
	}

	// RBAC for Applications: once scoped, the app reaches its mailboxes
	// only; delegated tokens of the same app are not affected.
	f.srv.SetAppScope(w.MSClientID, w.MSUser, w.MSSharedMailbox)
	if r := f.do(t, "GET", delta(w.MSUser), app, nil); r.Status != 200 {
		t.Errorf("app-only in scope: HTTP %d %s", r.Status, r.Body)
	}
	wantError(t, "app-only out of scope", f.do(t, "GET", delta("ceo@contoso.example"), app, nil), 403, "ErrorAccessDenied", denied)
	wantError(t, "app-only send out of scope", f.do(t, "POST", "/v1.0/users/ceo@contoso.example/sendMail", app, b64(msg("x")),
		"Content-Type", "text/plain"), 403, "ErrorAccessDenied", denied)
	if r := f.do(t, "GET", delta(w.MSUser), full, nil); r.Status != 200 {
		t.Errorf("delegated under an app scope: HTTP %d %s", r.Status, r.Body)
	}
}
