// Package idptest starts the sandbox identity provider for a test, with the
// world in it, a Directory that asks it about tokens and a TLS certificate:
// the ground floor of [mailtokens/internal/sandbox/sandboxtest]. Tests use
// sandboxtest; only the tests of the packages sandboxtest is built from
// (the sandbox's mail servers, the token store), which cannot import it,
// use this package directly.
package idptest

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/testcert"
)

// Epoch is where fake clocks start when a test has no reason to pick a time.
var Epoch = time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC)

// Options say how the provider runs.
type Options struct {
	// Start, when set, puts the provider on a [clock.Fake] reading Start;
	// zero means real time.
	Start time.Time
	// RedirectURIs are registered for the world's apps (idp.Server.AddWorld).
	RedirectURIs []string
	// DeviceInterval, when set, is the device flow's polling interval in
	// seconds.
	DeviceInterval int
	// Std switches the standards issuer's behaviours (idp.StdOptions).
	Std idp.StdOptions
}

// Sandbox is the provider and what asks it about tokens.
type Sandbox struct {
	IDP   *idp.Server
	World idp.World
	// Clock is the provider's time; nil on real time.
	Clock     *clock.Fake
	Directory *mailauth.Directory
	Cert      *testcert.Cert
}

// New starts the identity provider for t (stopped with t).
func New(t testing.TB, opt Options) *Sandbox {
	t.Helper()
	s := &Sandbox{}
	var c idp.Clock
	if !opt.Start.IsZero() {
		s.Clock = clock.NewFake(opt.Start)
		c = s.Clock
	}
	s.IDP = idp.NewTest(t, idp.Options{Clock: c, Std: opt.Std})
	if opt.DeviceInterval > 0 {
		s.IDP.SetDeviceInterval(opt.DeviceInterval)
	}
	s.World = s.IDP.AddWorld(opt.RedirectURIs...)
	s.Directory = mailauth.New(s.IDP.Introspect)
	var err error
	if s.Cert, err = testcert.New(); err != nil {
		t.Fatal(err)
	}
	return s
}

// Token mints a live access token for email at the provider typ.
func (s *Sandbox) Token(t testing.TB, typ provider.Type, email string, scopes ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at, _, err := s.IDP.MintToken(ctx, s.World, typ, email, scopes...)
	if err != nil {
		t.Fatalf("mint a token for %s: %v", email, err)
	}
	return at
}

// AppToken gets an app-only (client credentials) access token from the
// world's Microsoft app for resource ("https://graph.microsoft.com" or
// "https://outlook.office365.com"), carrying the app's application
// permissions of that resource as roles.
func (s *Sandbox) AppToken(t testing.TB, resource string) string {
	t.Helper()
	_, tokenURL := s.IDP.Endpoints(s.World, provider.Microsoft)
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {s.World.MSClientID},
		"client_secret": {s.World.MSSecret}, "scope": {strings.TrimSuffix(resource, "/") + "/.default"}}
	resp, err := http.PostForm(tokenURL, form)
	if err != nil {
		t.Fatalf("app-only token for %s: %v", resource, err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("app-only token for %s: HTTP %d %s (%v)", resource, resp.StatusCode, body.Error, err)
	}
	return body.AccessToken
}
