package provider_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
)

// signInAs runs Get Email Token signing in as email (not c.Email).
func signInAs(t *testing.T, p *idp.Server, c provider.Config, email, password string) *provider.Token {
	t.Helper()
	req, err := c.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.SignIn(context.Background(), req.URL, email, password)
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != req.State {
		t.Fatalf("redirect %s", back)
	}
	tok, err := c.Exchange(context.Background(), back.Query().Get("code"), req.Proof)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSandboxSignedInAccount(t *testing.T) {
	p, w, ms, g := sandbox(t)
	ctx := context.Background()

	// Microsoft: the ID token's preferred_username, whoever signs in.
	for _, who := range []string{w.MSUser, w.MSOtherUser} {
		tok := signInAs(t, p, ms, who, w.Password)
		if tok.Account != who {
			t.Errorf("Microsoft sign-in as %s: Account = %q", who, tok.Account)
		}
		if provider.HasScope(tok.Scope, "openid") || !provider.HasScope(tok.Scope, provider.MicrosoftIMAPScope) {
			t.Errorf("granted scope %q", tok.Scope)
		}
		// The grant still refreshes, and a refresh names nobody.
		r, err := ms.Refresh(ctx, tok.RefreshToken.Reveal())
		if err != nil {
			t.Fatalf("refresh after sign-in with openid: %v", err)
		}
		if r.Account != "" {
			t.Errorf("refresh set Account %q", r.Account)
		}
	}

	// Google: the ID token's email; refreshes (which bring an ID token
	// too) keep working.
	tok := signInAs(t, p, g, w.GoogleUser, w.Password)
	if tok.Account != w.GoogleUser || !provider.HasScope(tok.Scope, provider.GoogleMailScope) {
		t.Errorf("Google: Account = %q, scope %q", tok.Account, tok.Scope)
	}
	if _, err := g.Refresh(ctx, tok.RefreshToken.Reveal()); err != nil {
		t.Fatalf("Google refresh: %v", err)
	}

	// The device flow says who approved it.
	p.SetDeviceInterval(1)
	dctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	d, err := ms.StartDevice(dctx)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- p.ApproveDevice(dctx, d.UserCode, w.MSOtherUser, w.Password) }()
	dt, err := ms.PollDevice(dctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if dt.Account != w.MSOtherUser {
		t.Errorf("device flow: Account = %q", dt.Account)
	}

	// App-only: no user, no OpenID scopes (Microsoft would refuse them).
	ms.Scope = ""
	if slices.Contains(ms.AppOnlyScopes(), "openid") {
		t.Error("openid with client credentials")
	}
	at, err := ms.AppOnly(ctx)
	if err != nil || at.Account != "" {
		t.Fatalf("app-only: %v, Account %q", err, at)
	}
}

func TestSandboxGenericAccountFromUserinfo(t *testing.T) {
	p, w, _, g := sandbox(t)
	// A standards server (the sandbox's Google-like endpoints, typed as
	// "other") whose ID tokens carry no address: the account comes from
	// the userinfo endpoint its discovery document names.
	p.SetMinimalIDTokens(true)
	gen := g
	gen.Type, gen.Scope = provider.Generic, "openid email "+provider.GoogleMailScope
	if tok := signInAs(t, p, gen, w.GoogleUser, w.Password); tok.Account != w.GoogleUser {
		t.Errorf("generic with userinfo: Account = %q", tok.Account)
	}
	// With the address in the ID token, that is used.
	p.SetMinimalIDTokens(false)
	if tok := signInAs(t, p, gen, w.GoogleUser, w.Password); tok.Account != w.GoogleUser {
		t.Errorf("generic with an ID token: Account = %q", tok.Account)
	}
	// Without openid there is nobody to ask; the sign-in still succeeds.
	gen.Scope = provider.GoogleMailScope
	if tok := signInAs(t, p, gen, w.GoogleUser, w.Password); tok.Account != "" || tok.AccessToken.IsZero() {
		t.Errorf("generic without openid: Account = %q", tok.Account)
	}
}

func jwt(claims map[string]any) string {
	b, _ := json.Marshal(claims)
	return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString(b) + ".c2ln"
}

func TestAccountFromIDToken(t *testing.T) {
	for _, tt := range []struct {
		name string
		typ  provider.Type
		tok  string
		want string
	}{
		{"microsoft preferred_username first", provider.Microsoft, jwt(map[string]any{"preferred_username": "alex@contoso.example", "email": "a@x.example"}), "alex@contoso.example"},
		{"microsoft email next", provider.Microsoft, jwt(map[string]any{"email": "a@x.example", "upn": "u@x.example"}), "a@x.example"},
		{"microsoft upn last", provider.Microsoft, jwt(map[string]any{"upn": "u@x.example"}), "u@x.example"},
		{"google email", provider.Google, jwt(map[string]any{"email": "g@gmail.example", "preferred_username": "nick"}), "g@gmail.example"},
		{"generic email then preferred_username", provider.Generic, jwt(map[string]any{"preferred_username": "nick"}), "nick"},
		{"blank", provider.Microsoft, jwt(map[string]any{"preferred_username": "  "}), ""},
		{"control characters", provider.Google, jwt(map[string]any{"email": "a@b.example\r\nX: y"}), ""},
		{"too long", provider.Google, jwt(map[string]any{"email": strings.Repeat("a", 400) + "@b.example"}), ""},
		{"not a JWT", provider.Google, "abc", ""},
		{"payload not base64", provider.Google, "a.!!!.c", ""},
		{"payload not JSON", provider.Google, "a." + base64.RawURLEncoding.EncodeToString([]byte("[1")) + ".c", ""},
		{"padded payload", provider.Google, "a." + base64.URLEncoding.EncodeToString([]byte(`{"email":"p@b.example"}`)) + ".c", "p@b.example"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := provider.AccountFromIDToken(tt.typ, tt.tok); got != tt.want {
				t.Errorf("AccountFromIDToken = %q, want %q", got, tt.want)
			}
		})
	}
}
