// Package tokens puts the sandbox world's apps into a token store: the
// settings an admin would type for them, and a live token obtained through
// the sandbox's real sign-in pages. Tests and the demo share it.
package tokens

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// Settings are the token settings for the world's Microsoft or Google app
// and user, pointing at the sandbox's endpoints.
func Settings(p *idp.Server, w idp.World, name string, f provider.Type) tokenstore.Settings {
	auth, token := p.Endpoints(w, f)
	if f == provider.Google {
		return tokenstore.Settings{Name: name, Config: provider.Config{Type: provider.Google, Email: w.GoogleUser,
			ClientID: w.GoogleClientID, ClientSecret: secret.New(w.GoogleSecret), AuthURL: auth, TokenURL: token}}
	}
	return tokenstore.Settings{Name: name, Config: provider.Config{Type: provider.Microsoft, Email: w.MSUser, Tenant: w.TenantID,
		ClientID: w.MSClientID, ClientSecret: secret.New(w.MSSecret), AuthURL: auth, TokenURL: token}}
}

// Authorize creates the token (if absent) and stores a live grant for the
// world's user, as if an admin had clicked Get Email Token; with scopes
// (Graph's, say), the token asks for those instead of the mail scopes.
func Authorize(ctx context.Context, st *tokenstore.Store, p *idp.Server, w idp.World, name string, f provider.Type, scopes ...string) (*tokenstore.Token, error) {
	if _, err := st.Get(ctx, name); err != nil {
		set := Settings(p, w, name, f)
		set.Scope = strings.Join(scopes, " ")
		if _, err := st.Create(ctx, set, tokenstore.ActorCLI); err != nil {
			return nil, err
		}
	}
	user := w.MSUser
	if f == provider.Google {
		user = w.GoogleUser
	}
	at, rt, err := p.MintToken(ctx, w, f, user, scopes...)
	if err != nil {
		return nil, fmt.Errorf("authorize %s: %w", name, err)
	}
	return st.SaveGrant(ctx, name, tokenstore.GrantAuthorizationCode, &provider.Token{AccessToken: secret.New(at),
		RefreshToken: secret.New(rt), ExpiresIn: time.Hour}, tokenstore.ActorCLI)
}
