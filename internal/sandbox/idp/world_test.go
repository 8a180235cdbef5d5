package idp

import (
	"context"
	"testing"

	"mailtokens/internal/provider"
)

func TestWorldMintToken(t *testing.T) {
	s := NewTest(t, Options{})
	w := s.AddWorld("http://localhost:8080/oauth2/callback")
	ctx := context.Background()
	for _, c := range []struct {
		f     provider.Type
		email string
	}{{provider.Microsoft, w.MSUser}, {provider.Google, w.GoogleUser}} {
		at, rt, err := s.MintToken(ctx, w, c.f, c.email)
		if err != nil {
			t.Fatal(err)
		}
		in := s.Introspect(at)
		if !in.Active || in.Username != c.email || in.Provider != c.f || rt == "" {
			t.Fatalf("%s: introspection %+v, refresh token %q", c.f, in, rt)
		}
	}
}
