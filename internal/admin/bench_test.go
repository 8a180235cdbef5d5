package admin

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/testenv/pgtest"
	"mailtokens/internal/tokenstore"
)

// BenchmarkTokenList1000 is the token list page (GET /, logged in, through
// the handler on an httptest server) with 1,000 tokens, each authorized
// and used by a task, on each engine: sqlite (a file) and postgres (a
// local server, pgtest).
func BenchmarkTokenList1000(b *testing.B) {
	for _, engine := range []string{"sqlite", "postgres"} {
		b.Run(engine, func(b *testing.B) {
			value := ""
			if engine == "postgres" {
				value = "postgres"
			}
			b.Setenv(pgtest.EngineEnv, value)
			h := newHarness(b)
			fill(b, h, 1000)
			br := h.browser().login()
			b.ResetTimer()
			for b.Loop() {
				r := br.get("/")
				if r.status != http.StatusOK || !strings.Contains(r.body, "bench-0999") {
					b.Fatalf("token list: %d %.300s", r.status, r.body)
				}
			}
		})
	}
}

// fill adds n Microsoft tokens with live-looking grants, each used once by
// an evmail task, as the list shows them.
func fill(b *testing.B, h *harness, n int) {
	b.Helper()
	ctx := context.Background()
	auth, tokenURL := h.IDP.Endpoints(h.World, provider.Microsoft)
	for i := range n {
		name := fmt.Sprintf("bench-%04d", i)
		set := tokenstore.Settings{Name: name, Config: provider.Config{Type: provider.Microsoft, Email: fmt.Sprintf("box%d@contoso.example", i),
			Tenant: h.World.TenantID, ClientID: h.World.MSClientID, ClientSecret: secret.New(h.World.MSSecret),
			AuthURL: auth, TokenURL: tokenURL}}
		if _, err := h.Store.Create(ctx, set, tokenstore.ActorCLI); err != nil {
			b.Fatal(err)
		}
		if _, err := h.Store.SaveGrant(ctx, name, tokenstore.GrantAuthorizationCode, &provider.Token{
			AccessToken: secret.New("at-" + name), RefreshToken: secret.New("rt-" + name), ExpiresIn: time.Hour}, tokenstore.ActorCLI); err != nil {
			b.Fatal(err)
		}
		h.useToken(name, tokenstore.ActorEvmail, "/etc/mailtokens/evmail/"+name+".properties")
	}
}
