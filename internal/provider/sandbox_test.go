package provider_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/secret"
)

const redirect = "http://localhost:8080/oauth2/callback"

// sandbox starts the sandbox identity provider with the shared world and
// returns configs for its Microsoft and Google apps.
func sandbox(t *testing.T) (*idp.Server, idp.World, provider.Config, provider.Config) {
	t.Helper()
	s := idptest.New(t, idptest.Options{RedirectURIs: []string{redirect}})
	p, w := s.IDP, s.World
	client := provider.NewHTTPClient(5 * time.Second)
	msAuth, msToken := p.Endpoints(w, provider.Microsoft)
	gAuth, gToken := p.Endpoints(w, provider.Google)
	ms := provider.Config{Type: provider.Microsoft, Tenant: w.TenantID, ClientID: w.MSClientID, ClientSecret: secret.New(w.MSSecret),
		Scope: provider.MicrosoftIMAPScope + " " + provider.MicrosoftSMTPScope, Email: w.MSUser, AuthURL: msAuth, TokenURL: msToken,
		RedirectURL: redirect, HTTPClient: client}
	g := provider.Config{Type: provider.Google, ClientID: w.GoogleClientID, ClientSecret: secret.New(w.GoogleSecret),
		Email: w.GoogleUser, AuthURL: gAuth, TokenURL: gToken, RedirectURL: redirect, HTTPClient: client}
	return p, w, ms, g
}

// signIn runs Get Email Token against the sandbox's pages.
func signIn(t *testing.T, p *idp.Server, c provider.Config, password string) *provider.Token {
	t.Helper()
	ctx := context.Background()
	req, err := c.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	back, err := p.SignIn(ctx, req.URL, c.Email, password)
	if err != nil {
		t.Fatal(err)
	}
	if back.Query().Get("state") != req.State {
		t.Fatalf("state not returned: %s", back)
	}
	tok, err := c.Exchange(ctx, back.Query().Get("code"), req.Proof)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestSandboxAuthCodeAndRefresh(t *testing.T) {
	p, w, ms, g := sandbox(t)
	ctx := context.Background()

	tok := signIn(t, p, ms, w.Password)
	if tok.RefreshToken.IsZero() || tok.ExpiresIn < 50*time.Minute || !provider.HasScope(tok.Scope, provider.MicrosoftIMAPScope) {
		t.Fatalf("Microsoft token: expires in %v, scope %q, refresh token set: %v", tok.ExpiresIn, tok.Scope, !tok.RefreshToken.IsZero())
	}
	if len(tok.AccessToken.Reveal()) < 1500 {
		t.Errorf("Microsoft access tokens are long JWTs; got %d characters", len(tok.AccessToken.Reveal()))
	}
	r, err := ms.Refresh(ctx, tok.RefreshToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if r.RefreshToken.IsZero() || r.RefreshToken.Equal(tok.RefreshToken) {
		t.Fatal("Microsoft rotates refresh tokens: the answer must carry a new one")
	}
	// The rotated-away token is spent.
	_, err = ms.Refresh(ctx, tok.RefreshToken.Reveal())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != advice.Reauthorize || !pe.HasCode(70000) || pe.TraceID == "" || pe.CorrelationID == "" {
		t.Fatalf("reused refresh token: %#v", err)
	}
	if strings.Contains(pe.Description, "Trace ID") {
		t.Errorf("description should be the first line only: %q", pe.Description)
	}

	gt := signIn(t, p, g, w.Password)
	gr, err := g.Refresh(ctx, gt.RefreshToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if !gr.RefreshToken.IsZero() {
		t.Fatal("Google does not rotate: a refresh answer carries no refresh token, and we must not invent one")
	}
	// Google's consent prompt every time: a second Get Email Token still
	// gets a refresh token.
	if again := signIn(t, p, g, w.Password); again.RefreshToken.IsZero() {
		t.Fatal("second sign-in without a refresh token: prompt=consent missing?")
	}
}

func TestSandboxErrorsAreTypedAndExplained(t *testing.T) {
	p, w, ms, _ := sandbox(t)
	ctx := context.Background()
	tok := signIn(t, p, ms, w.Password)

	wrong := ms
	wrong.ClientSecret = secret.New("not-the-secret")
	_, err := wrong.Refresh(ctx, tok.RefreshToken.Reveal())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != advice.Misconfigured || !pe.HasCode(7000215) || pe.HTTPStatus != 401 {
		t.Fatalf("wrong secret: %#v", err)
	}
	if !strings.Contains(advice.Explain(err), "Secret ID") {
		t.Errorf("explanation: %s", advice.Explain(err))
	}

	wrongTenant := ms
	wrongTenant.TokenURL = strings.Replace(ms.TokenURL, w.TenantID, "common", 1)
	_, err = wrongTenant.Refresh(ctx, tok.RefreshToken.Reveal())
	if !errors.As(err, &pe) || pe.Kind == advice.Temporary {
		t.Fatalf("single-tenant app via common: %#v", err)
	}

	p.InjectFault(idp.Fault{Kind: idp.FaultStatus500, Times: 1})
	_, err = ms.Refresh(ctx, "whatever")
	if !errors.As(err, &pe) || pe.Kind != advice.Temporary || pe.HTTPStatus != 500 {
		t.Fatalf("500: %#v", err)
	}
	if !strings.Contains(advice.Explain(err), "retried") {
		t.Errorf("500 explanation: %s", advice.Explain(err))
	}

	slow := ms
	slow.HTTPClient = provider.NewHTTPClient(200 * time.Millisecond)
	p.InjectFault(idp.Fault{Kind: idp.FaultSlow, Delay: 5 * time.Second, Times: 1})
	start := time.Now()
	_, err = slow.Refresh(ctx, "whatever")
	if !errors.As(err, &pe) || pe.Kind != advice.Temporary {
		t.Fatalf("slow provider: %#v", err)
	}
	if time.Since(start) > 4*time.Second {
		t.Fatal("the client timeout did not cut the slow answer")
	}

	p.InjectFault(idp.Fault{Kind: idp.FaultMalformedJSON, Times: 1})
	if _, err = ms.Refresh(ctx, tok.RefreshToken.Reveal()); !errors.As(err, &pe) || pe.Kind != advice.Temporary {
		t.Fatalf("malformed JSON: %#v", err)
	}

	// Nobody listening: a network error, temporary.
	down := ms
	down.TokenURL = deadURL(t) + "/token"
	if _, err = down.Refresh(ctx, "x"); !errors.As(err, &pe) || pe.Kind != advice.Temporary || !strings.Contains(advice.Explain(err), "could not be reached") {
		t.Fatalf("connection refused: %#v / %s", err, advice.Explain(err))
	}
}

func TestSandboxDeviceFlow(t *testing.T) {
	p, w, ms, g := sandbox(t)
	p.SetDeviceInterval(1)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	d, err := ms.StartDevice(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d.UserCode == "" || !strings.HasPrefix(d.VerificationURI, p.URL()) || !strings.Contains(d.Message(), d.UserCode) {
		t.Fatalf("device auth: %+v", d)
	}
	done := make(chan error, 1)
	go func() { done <- p.ApproveDevice(ctx, d.UserCode, w.MSUser, w.Password) }()
	tok, err := ms.PollDevice(ctx, d)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if tok.RefreshToken.IsZero() || !p.Introspect(tok.AccessToken.Reveal()).Active {
		t.Fatal("device flow token not usable")
	}

	// Google refuses the mail scope on the device flow; we say so before
	// asking (a provider that cannot be reached proves no request is
	// made), and point to the redirect flow.
	g.TokenURL = deadURL(t) + "/token"
	_, err = g.StartDevice(ctx)
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Kind != advice.Misconfigured || !strings.Contains(advice.Explain(err), "Get Email Token") {
		t.Fatalf("Google device flow: %#v", err)
	}
}

func TestSandboxAppOnly(t *testing.T) {
	p, _, ms, _ := sandbox(t)
	ms.Scope = "" // AppOnly picks the .default scope
	tok, err := ms.AppOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := p.Introspect(tok.AccessToken.Reveal())
	if !in.Active || !in.AppOnly || in.Username != "" || !tok.RefreshToken.IsZero() {
		t.Fatalf("app-only token: %+v", in)
	}
}

func TestSandboxRevoke(t *testing.T) {
	p, w, ms, g := sandbox(t)
	ctx := context.Background()
	gt := signIn(t, p, g, w.Password)
	if err := g.Revoke(ctx, gt.RefreshToken.Reveal()); err != nil {
		t.Fatal(err)
	}
	if p.Introspect(gt.AccessToken.Reveal()).Active {
		t.Fatal("revoking Google's refresh token must end its access tokens")
	}
	if _, err := g.Refresh(ctx, gt.RefreshToken.Reveal()); kindOf(err) != advice.Reauthorize {
		t.Fatalf("refresh after revoke: %v", err)
	}
	// Revoking twice is fine.
	if err := g.Revoke(ctx, gt.RefreshToken.Reveal()); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	if err := ms.Revoke(ctx, "x"); !errors.Is(err, provider.ErrNoRevocation) || !strings.Contains(ms.RevokeAdvice(), "Entra") {
		t.Fatalf("Microsoft revoke: %v", err)
	}
}

func TestSandboxRedirectMismatchIsShownByTheProvider(t *testing.T) {
	p, w, ms, _ := sandbox(t)
	ms.RedirectURL = "https://evadmin.contoso.example/oauth2/callback"
	req, err := ms.StartAuth()
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.SignIn(context.Background(), req.URL, w.MSUser, w.Password)
	if err == nil || !strings.Contains(err.Error(), "AADSTS50011") {
		t.Fatalf("unregistered redirect URI: %v", err)
	}
	u, _ := url.Parse(req.URL)
	if u.Query().Get("redirect_uri") != ms.RedirectURL {
		t.Fatal("redirect_uri not sent")
	}
}

// deadURL is a loopback URL where nothing listens.
func deadURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u := "http://" + l.Addr().String()
	l.Close()
	return u
}

func kindOf(err error) advice.Kind {
	_, k := advice.Of(err)
	return k
}
