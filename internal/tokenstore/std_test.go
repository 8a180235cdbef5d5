package tokenstore

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/secret"
)

// A token of the generic type, set up by discovery, through the store:
// sign-in, refresh by a worker, revocation, and a dead refresh token,
// against the sandbox's standards issuer.

func newStdWorld(t *testing.T, opt idp.StdOptions) *world {
	t.Helper()
	s := idptest.New(t, idptest.Options{Start: time.Date(2026, 11, 22, 9, 0, 0, 0, time.UTC), RedirectURIs: []string{testRedirect}, Std: opt})
	dir := t.TempDir()
	w := &world{Sandbox: s, opt: Options{
		Path: filepath.Join(dir, "tokens.db"), KeyFile: filepath.Join(dir, "tokens.key"),
		Now: s.Clock.Now, HTTPClient: provider.NewHTTPClient(5 * time.Second),
	}}
	w.store = w.open(t)
	return w
}

// stdAuthorized creates a generic token from discovery for the world's
// client_secret_basic-only client and signs in.
func (w *world) stdAuthorized(t *testing.T, name string) *Token {
	t.Helper()
	ctx := context.Background()
	set := Settings{Name: name, Config: provider.Config{Type: provider.Generic, Email: w.World.StdUser, ClientID: w.World.StdClientID,
		ClientSecret: secret.New(w.World.StdSecret), Scope: "openid email mail", HTTPClient: w.opt.HTTPClient}}
	d, err := set.Discover(ctx, w.IDP.StdIssuer())
	if err != nil {
		t.Fatal(err)
	}
	d.Apply(&set.Config, true)
	set.HTTPClient = nil
	created, err := w.store.Create(ctx, set, ActorCLI)
	if err != nil {
		t.Fatal(err)
	}
	if created.ClientAuth != provider.ClientSecretBasic || created.RevokeURL == "" || created.Issuer != w.IDP.StdIssuer() {
		t.Fatalf("stored: method %q, revoke %q, issuer %q", created.ClientAuth, created.RevokeURL, created.Issuer)
	}
	return w.signIn(t, created, set.Email)
}

func TestStdTokenRefreshesWithBasicOnlyClient(t *testing.T) {
	ctx := context.Background()
	w := newStdWorld(t, idp.StdOptions{OIDCOffline: true, RequireNonce: true, Rotation: true})
	old := w.stdAuthorized(t, "std")
	w.age(55 * time.Minute)
	a, err := w.store.Source("std", ActorEvmail).Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := w.store.Get(ctx, "std")
	if a.Token.Equal(old.AccessToken) || got.RefreshToken.Equal(old.RefreshToken) || got.Status != StatusValid {
		t.Fatalf("not refreshed and rotated: status %s", got.Status)
	}
	if in := w.IDP.Introspect(a.Token.Reveal()); !in.Active || in.Username != strings.ToLower(w.World.StdUser) {
		t.Fatalf("introspection: %+v", in)
	}
}

func TestStdRevokeThroughTheStore(t *testing.T) {
	ctx := context.Background()
	w := newStdWorld(t, idp.StdOptions{})
	tok := w.stdAuthorized(t, "std")
	hint, err := w.store.Revoke(ctx, "std", ActorAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(hint, "revoked at the provider") {
		t.Errorf("advice %q", hint)
	}
	if recs := w.IDP.Revocations(); len(recs) != 1 || recs[0].Outcome != "revoked" || recs[0].Method != provider.ClientSecretBasic {
		t.Fatalf("revocations: %+v", recs)
	}
	if in := w.IDP.Introspect(tok.AccessToken.Reveal()); in.Active {
		t.Fatal("the access token outlived the revocation of its refresh token")
	}
}

func TestStdEmpty400NeedsAuthorization(t *testing.T) {
	ctx := context.Background()
	w := newStdWorld(t, idp.StdOptions{EmptyErrors: true})
	tok := w.stdAuthorized(t, "std")
	// Revoked behind the store's back (at the provider's console).
	cfg := w.store.ProviderConfig(tok, "")
	if err := cfg.Revoke(ctx, tok.RefreshToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	w.age(55 * time.Minute)
	_, err := w.store.Source("std", ActorEvmail).Token(ctx)
	var na *NeedsAuthorizationError
	if !errors.As(err, &na) || kindOf(err) != advice.Reauthorize {
		t.Fatalf("got %v, want NeedsAuthorizationError", err)
	}
	got, _ := w.store.Get(ctx, "std")
	if got.Status != StatusNeedsAuthorization || !strings.Contains(got.Explain(), "no explanation") || !strings.Contains(got.Explain(), "Get Email Token") {
		t.Fatalf("status %s, explanation %q", got.Status, got.Explain())
	}
}
