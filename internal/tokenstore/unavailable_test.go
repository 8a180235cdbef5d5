package tokenstore

import (
	"context"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/testenv/pgtest"
)

// While PostgreSQL is down, what the workers ask of the store fails as a
// temporary failure (they back off and carry on, and log a warning, not an
// error); once it is back, the same Store and Source work again.
func TestDatabaseDownIsTemporary(t *testing.T) {
	srv := pgtest.NewServer(t)
	ctx := context.Background()
	s := openTest(t, Options{Path: srv.URL(t)})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SaveGrant(ctx, "support", GrantAuthorizationCode, &provider.Token{AccessToken: secret.New("at"),
		RefreshToken: secret.New("rt"), ExpiresIn: time.Hour}, ActorCLI); err != nil {
		t.Fatal(err)
	}
	src := s.Source("support", ActorEvmail).ForTask("/etc/mailtokens/evmail/support.properties")
	if _, err := src.Token(ctx); err != nil {
		t.Fatal(err)
	}

	srv.Stop(t)
	_, err := src.Token(ctx)
	check := func(what string, err error) {
		t.Helper()
		if _, kind := advice.Of(err); err == nil || kind != advice.Temporary {
			t.Errorf("%s while the database is down: %v (kind %v), want a temporary failure", what, err, kind)
		}
	}
	check("Source.Token", err)
	_, err = src.Refresh(ctx)
	check("Source.Refresh", err)
	check("Source.LoggedIn", src.LoggedIn(ctx, Login{Server: "IMAP outlook.office365.com:993", User: "support@contoso.example"}))
	_, err = s.Get(ctx, "support")
	check("Get", err)
	_, err = s.List(ctx)
	check("List", err)
	check("Ping", s.Ping(ctx))

	srv.Start(t)
	var tok Access
	for i := 0; ; i++ { // a pooled connection that died may fail once
		if tok, err = src.Token(ctx); err == nil || i == 8 {
			break
		}
		check("Source.Token just after the restart", err)
	}
	if err != nil || tok.Token.Reveal() != "at" {
		t.Fatalf("after the restart: %v", err)
	}
}
