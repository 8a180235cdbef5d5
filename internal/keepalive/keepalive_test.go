package keepalive

import (
	"testing"
	"time"

	"mailtokens/internal/tokenstore"
)

func TestIdle(t *testing.T) {
	now := time.Date(2026, 12, 6, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	base := tokenstore.Token{Status: tokenstore.StatusValid, HasRefreshToken: true, Grant: tokenstore.GrantAuthorizationCode,
		RefreshIssuedAt: now.Add(-40 * day), RefreshUsedAt: now.Add(-31 * day)}
	cases := []struct {
		name string
		edit func(*tokenstore.Token)
		want bool
	}{
		{"unused for 31 days", func(*tokenstore.Token) {}, true},
		{"used 29 days ago", func(t *tokenstore.Token) { t.RefreshUsedAt = now.Add(-29 * day) }, false},
		{"signed in again lately", func(t *tokenstore.Token) { t.AuthorizedAt = now.Add(-day) }, false},
		{"refresh failing", func(t *tokenstore.Token) { t.Status = tokenstore.StatusRefreshFailing }, true},
		{"needs authorization", func(t *tokenstore.Token) { t.Status = tokenstore.StatusNeedsAuthorization }, false},
		{"revoked", func(t *tokenstore.Token) { t.Status = tokenstore.StatusRevoked }, false},
		{"no refresh token", func(t *tokenstore.Token) { t.HasRefreshToken = false }, false},
		{"app-only", func(t *tokenstore.Token) { t.Grant = tokenstore.GrantClientCredentials }, false},
	}
	for _, c := range cases {
		tok := base
		c.edit(&tok)
		if _, got := Idle(&tok, now); got != c.want {
			t.Errorf("%s: idle = %v, want %v", c.name, got, c.want)
		}
	}
}
