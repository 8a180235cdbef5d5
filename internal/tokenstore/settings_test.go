package tokenstore

import (
	"context"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
)

// The settings of standard providers and app-only credentials are kept:
// endpoints, client authentication, extra parameters, the cloud, and the
// client key — sealed, write-only like the secret, kept when an edit
// leaves it empty.
func TestProviderSettingsAreKept(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	set := Settings{Name: "keycloak", Config: provider.Config{Type: provider.Generic, ClientID: "mail",
		ClientSecret: secret.New("s3cret"), AuthURL: "https://id.example/auth", TokenURL: "https://id.example/token",
		DeviceURL: "https://id.example/device", RevokeURL: "https://id.example/revoke", UserinfoURL: "https://id.example/userinfo",
		Issuer: "https://id.example", ClientAuth: "client_secret_basic", AuthParams: "prompt=consent",
		ClientKey: secret.New("-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n")},
		KeyExpiresOn: time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)}
	if _, err := s.Create(ctx, set, ActorCLI); err != nil {
		t.Fatal(err)
	}
	got, err := s.Get(ctx, "keycloak")
	if err != nil {
		t.Fatal(err)
	}
	if got.DeviceURL != set.DeviceURL || got.RevokeURL != set.RevokeURL || got.UserinfoURL != set.UserinfoURL ||
		got.Issuer != set.Issuer || got.ClientAuth != set.ClientAuth || got.AuthParams != set.AuthParams ||
		!got.ClientKey.Equal(set.ClientKey) || !got.KeyExpiresOn.Equal(set.KeyExpiresOn) || !got.HasClientKey {
		t.Fatalf("read back: %+v", got.Settings)
	}
	list, _ := s.List(ctx)
	if !list[0].HasClientKey || !list[0].ClientKey.IsZero() {
		t.Fatal("List must say a key is stored without opening it")
	}
	edit := set
	edit.ClientKey, edit.AuthParams = secret.Secret{}, "prompt=consent&acr_values=mfa"
	if _, err := s.Update(ctx, "keycloak", edit, ActorCLI); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Get(ctx, "keycloak")
	if !got.ClientKey.Equal(set.ClientKey) || got.AuthParams != edit.AuthParams {
		t.Fatalf("after an edit without a key: key kept %v, params %q", got.ClientKey.Equal(set.ClientKey), got.AuthParams)
	}
	ev, _ := s.Events(ctx, "keycloak", 2)
	for _, e := range ev {
		if strings.Contains(e.Text, "BEGIN PRIVATE KEY") {
			t.Fatalf("the key is in the %s event", e.Kind)
		}
	}
	var sealed []byte
	s.db.QueryRow(`SELECT client_key FROM tokens`).Scan(&sealed)
	if strings.Contains(string(sealed), "PRIVATE KEY") {
		t.Fatal("the client key is stored in clear")
	}
}

// An edit that keeps the stored key keeps its expiry; one that drops it
// forgets both, and says so without showing the key.
func TestClientKeyExpiryKeptAndKeyDropped(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	expires := time.Date(2027, 6, 1, 0, 0, 0, 0, time.UTC)
	set := Settings{Name: "cert", Config: provider.Config{Type: provider.Generic, ClientID: "mail",
		AuthURL: "https://id.example/auth", TokenURL: "https://id.example/token", ClientAuth: provider.ClientAuthPrivateKeyJWT,
		ClientKey: secret.New("-----BEGIN PRIVATE KEY-----\nkey\n-----END PRIVATE KEY-----\n")}, KeyExpiresOn: expires}
	if _, err := s.Create(ctx, set, ActorCLI); err != nil {
		t.Fatal(err)
	}
	edit := set
	edit.ClientKey, edit.KeyExpiresOn, edit.Scope = secret.Secret{}, time.Time{}, "mail"
	got, err := s.Update(ctx, "cert", edit, ActorCLI)
	if err != nil || !got.KeyExpiresOn.Equal(expires) || !got.HasClientKey {
		t.Fatalf("edit without a key: expiry %v, key %v, %v", got.KeyExpiresOn, got.HasClientKey, err)
	}
	edit.DropClientKey, edit.ClientAuth = true, ""
	got, err = s.Update(ctx, "cert", edit, ActorCLI)
	if err != nil || got.HasClientKey || !got.KeyExpiresOn.IsZero() {
		t.Fatalf("drop: key %v, expiry %v, %v", got.HasClientKey, got.KeyExpiresOn, err)
	}
	ev, _ := s.Events(ctx, "cert", 1)
	if len(ev) != 1 || !strings.Contains(ev[0].Text, "client key removed") {
		t.Fatalf("event: %+v", ev)
	}
}
