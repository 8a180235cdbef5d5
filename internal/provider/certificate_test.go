package provider_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/secret"
)

// certificateConfig is the world's Microsoft app with its certificate
// instead of its secret.
func certificateConfig(ms provider.Config, pemKey string) provider.Config {
	c := ms
	c.ClientSecret = secret.Secret{}
	c.ClientAuth = provider.ClientAuthPrivateKeyJWT
	c.ClientKey = secret.New(pemKey)
	return c
}

func TestSandboxCertificateAppOnly(t *testing.T) {
	p, w, ms, _ := sandbox(t)
	ms.Scope = ""
	c := certificateConfig(ms, w.MSCertificate)
	tok, err := c.AppOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if in := p.Introspect(tok.AccessToken.Reveal()); !in.Active || !in.AppOnly || !tok.RefreshToken.IsZero() {
		t.Fatalf("app-only token with a certificate: %+v", in)
	}
}

// A person's sign-in and every refresh authenticate the app with the
// certificate too: the code exchange and the refresh carry assertions.
func TestSandboxCertificateDelegatedRefresh(t *testing.T) {
	p, w, ms, _ := sandbox(t)
	c := certificateConfig(ms, w.MSCertificate)
	tok := signIn(t, p, c, w.Password)
	r, err := c.Refresh(context.Background(), tok.RefreshToken.Reveal())
	if err != nil {
		t.Fatal(err)
	}
	if r.RefreshToken.IsZero() || !p.Introspect(r.AccessToken.Reveal()).Active {
		t.Fatal("refresh with a client assertion: no usable token")
	}
	// An assertion signed with a certificate the app does not have is
	// refused on refresh as well.
	other, err := testcert.SharedClient("not registered on the app")
	if err != nil {
		t.Fatal(err)
	}
	wrong := certificateConfig(ms, other.PEM)
	if _, err := wrong.Refresh(context.Background(), r.RefreshToken.Reveal()); kindOf(err) != advice.Misconfigured {
		t.Fatalf("refresh with another certificate: %v", err)
	}
}

func TestSandboxWrongCertificateIsExplained(t *testing.T) {
	_, w, ms, _ := sandbox(t)
	ms.Scope = ""
	other, err := testcert.SharedClient("not registered on the app")
	if err != nil {
		t.Fatal(err)
	}
	_, err = certificateConfig(ms, other.PEM).AppOnly(context.Background())
	var pe *provider.Error
	if !errors.As(err, &pe) || !pe.HasCode(700027) || pe.Kind != advice.Misconfigured {
		t.Fatalf("unregistered certificate: %#v", err)
	}
	if !strings.Contains(pe.Description, "The key was not found") {
		t.Errorf("description: %q", pe.Description)
	}
	if x := advice.Explain(err); !strings.Contains(x, "Certificates & secrets") || !strings.Contains(x, "thumbprint") {
		t.Errorf("explanation: %s", x)
	}
	_ = w
}

func TestSandboxAssertionOutOfTimeIsExplained(t *testing.T) {
	_, w, ms, _ := sandbox(t)
	ms.Scope = ""
	c := certificateConfig(ms, w.MSCertificate)
	c.Now = func() time.Time { return time.Now().Add(-2 * time.Hour) } // this server's clock is wrong
	_, err := c.AppOnly(context.Background())
	var pe *provider.Error
	if !errors.As(err, &pe) || !pe.HasCode(700024) || !strings.Contains(advice.Explain(err), "clock") {
		t.Fatalf("assertion from a slow clock: %#v / %s", err, advice.Explain(err))
	}
}

// A key that cannot sign is our problem, told before any request, and
// never taken for a network failure.
func TestBadClientKeyIsMisconfigured(t *testing.T) {
	_, _, ms, _ := sandbox(t)
	ms.Scope = ""
	ms.TokenURL = deadURL(t) + "/token"
	_, err := certificateConfig(ms, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n").AppOnly(context.Background())
	if kindOf(err) != advice.Misconfigured || !strings.Contains(advice.Explain(err), "Edit page") {
		t.Fatalf("unreadable key: %v (%v) %s", err, kindOf(err), advice.Explain(err))
	}
	expired, err := testcert.NewClient("expired", time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	_, err = certificateConfig(ms, expired.PEM).AppOnly(context.Background())
	if kindOf(err) != advice.Misconfigured || !strings.Contains(advice.Explain(err), "expired") {
		t.Fatalf("expired certificate: %v %s", err, advice.Explain(err))
	}
}

func TestParseCertificate(t *testing.T) {
	c, err := testcert.SharedClient("Contoso mail workers")
	if err != nil {
		t.Fatal(err)
	}
	// Certificate first, key second: the order does not matter.
	key, cert, _ := strings.Cut(c.PEM, "-----BEGIN CERTIFICATE-----")
	got, err := provider.ParseCertificate([]byte("-----BEGIN CERTIFICATE-----" + cert + key))
	if err != nil {
		t.Fatal(err)
	}
	if got.ThumbprintS256() == "" || len(got.Thumbprint()) != 40 {
		t.Fatalf("thumbprints %q %q", got.ThumbprintS256(), got.Thumbprint())
	}
	other, _ := testcert.SharedClient("not registered on the app")
	for name, tc := range map[string]struct{ pem, want string }{
		"nothing":       {"hello", "is not PEM"},
		"key only":      {key, "has no certificate"},
		"cert only":     {c.CertPEM, "has no private key"},
		"another's key": {strings.Replace(other.PEM, other.CertPEM, c.CertPEM, 1), "does not match"},
		"encrypted":     {"-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n", "password"},
	} {
		_, err := provider.ParseCertificate([]byte(tc.pem))
		var ke *provider.KeyError
		if !errors.As(err, &ke) || !strings.Contains(ke.Problem, tc.want) {
			t.Errorf("%s: %v, want %q", name, err, tc.want)
		}
	}
}

func serviceAccountConfig(g provider.Config, key string) provider.Config {
	c := g
	c.ClientSecret, c.ClientKey = secret.Secret{}, secret.New(key)
	return c
}

func TestSandboxServiceAccount(t *testing.T) {
	p, w, _, g := sandbox(t)
	c := serviceAccountConfig(g, w.GoogleServiceAccountKey)
	if got := c.AppOnlyScopes(); len(got) != 1 || got[0] != provider.GoogleMailScope {
		t.Fatalf("service account scopes: %q", got)
	}
	tok, err := c.AppOnly(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	in := p.Introspect(tok.AccessToken.Reveal())
	if !in.Active || in.Username != w.GoogleUser || !tok.RefreshToken.IsZero() || tok.ExpiresIn < 50*time.Minute {
		t.Fatalf("service account token: %+v, expires in %v", in, tok.ExpiresIn)
	}

	// A mailbox outside the delegated domain, and a domain that withdrew
	// the delegation: refused and explained, for the admin to fix.
	stranger := c
	stranger.Email = "someone@elsewhere.example"
	_, err = stranger.AppOnly(context.Background())
	var pe *provider.Error
	if !errors.As(err, &pe) || pe.Code != "invalid_grant" || pe.Kind != advice.Misconfigured || !strings.Contains(advice.Explain(err), "Email Address") {
		t.Fatalf("unknown mailbox: %#v / %s", err, advice.Explain(err))
	}
	p.RevokeDelegation(w.GoogleServiceAccount, w.GoogleDomain)
	_, err = c.AppOnly(context.Background())
	if !errors.As(err, &pe) || pe.Code != "unauthorized_client" || pe.Kind != advice.Misconfigured ||
		!strings.Contains(advice.Explain(err), "Domain-wide delegation") {
		t.Fatalf("no delegation: %#v / %s", err, advice.Explain(err))
	}
	// The stored failure is explained the same way later.
	again := c.Recall("refresh", pe.Kind, pe.HTTPStatus, pe.Code, pe.Description)
	if advice.Explain(again) != advice.Explain(err) {
		t.Errorf("recalled: %s", advice.Explain(again))
	}
}

func TestParseServiceAccount(t *testing.T) {
	_, w, _, _ := sandbox(t)
	sa, err := provider.ParseServiceAccount([]byte(w.GoogleServiceAccountKey))
	if err != nil || sa.ClientEmail != w.GoogleServiceAccount || sa.ClientID == "" {
		t.Fatalf("%+v %v", sa, err)
	}
	var m map[string]string
	json.Unmarshal([]byte(w.GoogleServiceAccountKey), &m)
	m["type"] = "authorized_user"
	other, _ := json.Marshal(m)
	for name, tc := range map[string]struct{ key, want string }{
		"not JSON":  {"-----BEGIN PRIVATE KEY-----", "is not a JSON key file"},
		"user cred": {string(other), "service account"},
	} {
		_, err := provider.ParseServiceAccount([]byte(tc.key))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
	info, err := provider.Config{Type: provider.Google, ClientKey: secret.New(w.GoogleServiceAccountKey)}.ClientKeyInfo()
	if err != nil || !strings.Contains(info.String(), w.GoogleServiceAccount) || strings.Contains(info.String(), "PRIVATE") {
		t.Fatalf("key info: %q %v", info.String(), err)
	}
}
