package provider_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/secret"
)

// The generic type against the sandbox's standards issuer (idp
// standard.go), each behaviour of issue 12 end to end.

// stdSandbox starts the sandbox with the standards issuer switched by opt
// and returns a config found by discovery for the world's client pick
// chooses (nil: StdClientID, the client_secret_basic one).
func stdSandbox(t *testing.T, opt idp.StdOptions, pick func(idp.World) string, withSecret bool) (*idp.Server, idp.World, provider.Config) {
	t.Helper()
	s := idptest.New(t, idptest.Options{RedirectURIs: []string{redirect}, DeviceInterval: 1, Std: opt})
	clientID := s.World.StdClientID
	if pick != nil {
		clientID = pick(s.World)
	}
	c := provider.Config{Type: provider.Generic, ClientID: clientID, Email: s.World.StdUser, Scope: "openid email mail",
		RedirectURL: redirect, HTTPClient: provider.NewHTTPClient(5 * time.Second)}
	if withSecret {
		c.ClientSecret = secret.New(s.World.StdSecret)
	}
	d, err := c.Discover(context.Background(), s.IDP.StdIssuer())
	if err != nil {
		t.Fatal(err)
	}
	d.Apply(&c, withSecret)
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	return s.IDP, s.World, c
}

func TestStdDiscoveryFillsEndpointsAndMethod(t *testing.T) {
	for _, tt := range []struct {
		name     string
		opt      idp.StdOptions
		userinfo bool
	}{
		{"OpenID Connect discovery", idp.StdOptions{}, true},
		{"RFC 8414 only", idp.StdOptions{NoOIDCDiscovery: true}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, w, c := stdSandbox(t, tt.opt, nil, true)
			iss := p.StdIssuer()
			if c.Issuer != iss || c.AuthURL != iss+"/authorize" || c.TokenURL != iss+"/token" || c.DeviceURL != iss+"/device" ||
				c.RevokeURL != iss+"/revoke" || (c.UserinfoURL == iss+"/userinfo") != tt.userinfo {
				t.Fatalf("endpoints: %+v", c)
			}
			// Basic is listed, and every server must take it (RFC 6749 §2.3.1).
			if c.ClientAuth != provider.ClientSecretBasic || c.Scope != "openid email mail offline_access" {
				t.Fatalf("method %q, scope %q", c.ClientAuth, c.Scope)
			}
			_ = w
		})
	}
	p, _, _ := stdSandbox(t, idp.StdOptions{AuthMethods: []string{"client_secret_post"}}, nil, true)
	c := provider.Config{HTTPClient: provider.NewHTTPClient(5 * time.Second)}
	d, err := c.Discover(context.Background(), p.StdIssuer()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if d.Apply(&c, true); c.ClientAuth != provider.ClientSecretPost {
		t.Errorf("a server listing only post: %q", c.ClientAuth)
	}
	if d.Apply(&c, false); c.ClientAuth != provider.ClientAuthNone {
		t.Errorf("no secret: %q", c.ClientAuth)
	}
}

func TestStdCodeFlowWithPKCEAndNonce(t *testing.T) {
	p, w, c := stdSandbox(t, idp.StdOptions{RequireNonce: true, OIDCOffline: true}, nil, true)
	ctx := context.Background()
	req, err := c.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.SignIn(ctx, req.URL, w.StdUser, w.Password)
	if err != nil || back.Query().Get("code") == "" {
		t.Fatalf("sign-in: %v %s", err, back)
	}
	q := p.AuthorizeRequests()[0]
	if q.Get("nonce") != req.Nonce || q.Get("code_challenge_method") != "S256" || q.Get("prompt") != "consent" {
		t.Fatalf("authorization request: %v", q)
	}
	// The same answer redeemed with another sign-in's nonce is refused.
	wrong := req.Proof
	wrong.Nonce = provider.NewState()
	_, err = c.Exchange(ctx, back.Query().Get("code"), wrong)
	var pe *provider.Error
	if !errors.Is(err, provider.ErrNonceMismatch) || !errors.As(err, &pe) || pe.Code != "nonce_mismatch" || pe.Kind != advice.Reauthorize {
		t.Fatalf("wrong nonce: %#v", err)
	}
	if !strings.Contains(advice.Explain(err), "nonce") {
		t.Errorf("explanation: %s", advice.Explain(err))
	}
	tok := signIn(t, p, c, w.Password)
	if tok.RefreshToken.IsZero() || !strings.EqualFold(tok.Account, w.StdUser) {
		t.Fatalf("token: account %q, refresh token %v", tok.Account, !tok.RefreshToken.IsZero())
	}
}

// OIDC Core §11: offline_access is honoured only with prompt=consent.
// Typed by hand without it, the sign-in gets no refresh token; discovery
// adds it (the server lists it) and StartAuth sends prompt=consent.
func TestStdOfflineAccessWithConsent(t *testing.T) {
	p, w, c := stdSandbox(t, idp.StdOptions{OIDCOffline: true}, nil, true)
	byHand := c
	byHand.Scope = "openid email mail"
	if tok := signIn(t, p, byHand, w.Password); !tok.RefreshToken.IsZero() {
		t.Fatal("a refresh token without offline_access")
	}
	if tok := signIn(t, p, c, w.Password); tok.RefreshToken.IsZero() || !provider.HasScope(tok.Scope, provider.OfflineAccess) {
		t.Fatalf("discovered config: no refresh token (scope %q)", tok.Scope)
	}
	// prompt=consent is what made the difference.
	noPrompt := c
	noPrompt.AuthParams = "prompt=login"
	if tok := signIn(t, p, noPrompt, w.Password); !tok.RefreshToken.IsZero() {
		t.Fatal("offline_access honoured without prompt=consent: the sandbox is not a standard OIDC server")
	}
}

func TestStdExtraAuthParamsReachTheServer(t *testing.T) {
	p, w, c := stdSandbox(t, idp.StdOptions{}, nil, true)
	c.AuthParams = "acr_values=mfa&ui_locales=de"
	signIn(t, p, c, w.Password)
	q := p.AuthorizeRequests()[0]
	if q.Get("acr_values") != "mfa" || q.Get("ui_locales") != "de" || q.Get("state") == "" || q.Get("client_id") != w.StdClientID {
		t.Fatalf("authorization request: %v", q)
	}
}

func TestStdClientAuthMethodsRefresh(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct {
		name, method string
		client       func(idp.World) string
		secret       bool
	}{
		{"client_secret_basic only", provider.ClientSecretBasic, func(w idp.World) string { return w.StdClientID }, true},
		{"client_secret_post", provider.ClientSecretPost, func(w idp.World) string { return w.StdPostClientID }, true},
		{"public client", provider.ClientAuthNone, func(w idp.World) string { return w.StdPublicClientID }, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, w, c := stdSandbox(t, idp.StdOptions{}, tt.client, tt.secret)
			// Discovery picks basic for a client with a secret; the admin
			// overrides it for a client registered for post.
			if want := map[bool]string{true: provider.ClientSecretBasic, false: provider.ClientAuthNone}[tt.secret]; c.ClientAuth != want {
				t.Fatalf("discovery chose %q", c.ClientAuth)
			}
			c.ClientAuth = tt.method
			tok := signIn(t, p, c, w.Password)
			if _, err := c.Refresh(ctx, tok.RefreshToken.Reveal()); err != nil {
				t.Fatalf("refresh: %v", err)
			}
			if tt.method == provider.ClientAuthNone {
				return
			}
			// The other method is refused: the choice matters.
			other := c
			other.ClientAuth = map[string]string{provider.ClientSecretBasic: provider.ClientSecretPost, provider.ClientSecretPost: provider.ClientSecretBasic}[tt.method]
			_, err := other.Refresh(ctx, tok.RefreshToken.Reveal())
			var pe *provider.Error
			if !errors.As(err, &pe) || pe.Code != "invalid_client" || pe.HTTPStatus != 401 || pe.Kind != advice.Misconfigured {
				t.Fatalf("%s with %s: %#v", tt.name, other.ClientAuth, err)
			}
		})
	}
}

func TestStdRefreshRotation(t *testing.T) {
	ctx := context.Background()
	for _, rotate := range []bool{false, true} {
		p, w, c := stdSandbox(t, idp.StdOptions{Rotation: rotate}, nil, true)
		tok := signIn(t, p, c, w.Password)
		r, err := c.Refresh(ctx, tok.RefreshToken.Reveal())
		if err != nil {
			t.Fatal(err)
		}
		if r.RefreshToken.IsZero() == rotate {
			t.Fatalf("rotation %v: new refresh token %v", rotate, !r.RefreshToken.IsZero())
		}
		next := tok.RefreshToken
		if rotate {
			next = r.RefreshToken
		}
		if _, err := c.Refresh(ctx, next.Reveal()); err != nil {
			t.Fatalf("rotation %v: second refresh: %v", rotate, err)
		}
	}
}

func TestStdDeviceFlow(t *testing.T) {
	p, w, c := stdSandbox(t, idp.StdOptions{OIDCOffline: true}, nil, true)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := c.StartDevice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.VerificationURIComplete == "" || d.UserCode == "" {
		t.Fatalf("device: %+v", d)
	}
	if err := p.ApproveDevice(ctx, d.UserCode, w.StdUser, w.Password); err != nil {
		t.Fatal(err)
	}
	tok, err := c.PollDevice(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken.IsZero() || !strings.EqualFold(tok.Account, w.StdUser) {
		t.Fatalf("device token: account %q", tok.Account)
	}
	// Without its secret the confidential client is refused at the device
	// endpoint (RFC 8628 §3.1 keeps RFC 6749's client authentication).
	anon := c
	anon.ClientSecret = secret.Secret{}
	_, err = anon.StartDevice(ctx)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "invalid_client" {
		t.Fatalf("device without a secret: %#v", err)
	}
}

func TestStdRevokeWithClientAuth(t *testing.T) {
	ctx := context.Background()
	p, w, c := stdSandbox(t, idp.StdOptions{}, nil, true)
	tok := signIn(t, p, c, w.Password)
	if err := c.Revoke(ctx, tok.RefreshToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	recs := p.Revocations()
	if len(recs) != 1 || recs[0].Method != provider.ClientSecretBasic || recs[0].Outcome != "revoked" {
		t.Fatalf("revocations: %+v", recs)
	}
	_, err := c.Refresh(ctx, tok.RefreshToken.Reveal())
	if kindOf(err) != advice.Reauthorize {
		t.Fatalf("refresh after revocation: %v", err)
	}
	if got := c.RevokeAdvice(); !strings.Contains(got, "revoked at the provider") {
		t.Errorf("advice: %s", got)
	}
}

// A server that refuses a dead refresh token with an empty 400 (glewlwyd)
// means the grant is gone: sign in again, said in plain words.
func TestStdEmpty400MeansSignInAgain(t *testing.T) {
	ctx := context.Background()
	p, w, c := stdSandbox(t, idp.StdOptions{EmptyErrors: true}, nil, true)
	tok := signIn(t, p, c, w.Password)
	if err := c.Revoke(ctx, tok.RefreshToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	_, err := c.Refresh(ctx, tok.RefreshToken.Reveal())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.HTTPStatus != 400 || pe.Code != "" || pe.Kind != advice.Reauthorize {
		t.Fatalf("empty 400: %#v", err)
	}
	if got := advice.Explain(err); !strings.Contains(got, "no explanation") || !strings.Contains(got, "Get Email Token") {
		t.Errorf("explanation: %s", got)
	}
}
