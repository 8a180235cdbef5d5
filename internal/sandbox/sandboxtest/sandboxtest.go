// Package sandboxtest is the fixture the sandbox mail servers' tests share:
// the identity provider with the world, on a fake clock, a Directory that
// asks it about tokens, and a TLS certificate.
package sandboxtest

import (
	"context"
	"testing"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/testcert"
)

// Env is the shared fixture.
type Env struct {
	IDP       *idp.Server
	Clock     *clock.Fake
	World     idp.World
	Directory *mailauth.Directory
	Cert      *testcert.Cert
}

// New starts the identity provider for t (stopped with t).
func New(t testing.TB) *Env {
	t.Helper()
	clock := clock.NewFake(time.Date(2026, 3, 2, 9, 30, 0, 0, time.UTC))
	p := idp.NewTest(t, idp.Options{Clock: clock})
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	return &Env{IDP: p, Clock: clock, World: p.AddWorld(), Directory: mailauth.New(p.Introspect), Cert: cert}
}

// Token mints a live access token for email at the provider of flavor.
func (e *Env) Token(t testing.TB, flavor idp.Flavor, email string, scopes ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	at, _, err := e.IDP.MintToken(ctx, e.World, flavor, email, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return at
}
