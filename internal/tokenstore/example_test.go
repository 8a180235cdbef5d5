package tokenstore_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// A worker's first question: "give me a valid access token for the token
// named in my task file". The sandbox identity provider stands in for
// Microsoft; the grant it issues is stored as Get Email Token would store
// it, and the store's Source hands out the access token by name.
func ExampleStore_Source() {
	ctx := context.Background()

	// The sandbox: a Microsoft-like tenant with an app and a user.
	p := idp.New(idp.Options{})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	w := p.AddWorld()

	// A store of our own: the SQLite file and its encryption key.
	dir, err := os.MkdirTemp("", "tokenstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := tokenstore.Open(ctx, tokenstore.Options{
		Path:       filepath.Join(dir, "tokens.db"),
		KeyFile:    filepath.Join(dir, "tokens.key"),
		HTTPClient: provider.NewHTTPClient(10 * time.Second),
	})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()

	// The admin adds the token (what evadmin's form or `token add` would
	// save) and signs in; the provider's answer is saved as a grant.
	if _, err := st.Create(ctx, tokens.Settings(p, w, "Support mailbox", provider.Microsoft), tokenstore.ActorCLI); err != nil {
		log.Fatal(err)
	}
	access, refresh, err := p.MintToken(ctx, w, provider.Microsoft, w.MSUser)
	if err != nil {
		log.Fatal(err)
	}
	grant := &provider.Token{AccessToken: secret.New(access), RefreshToken: secret.New(refresh), ExpiresIn: time.Hour}
	if _, err := st.SaveGrant(ctx, "Support mailbox", tokenstore.GrantAuthorizationCode, grant, tokenstore.ActorCLI); err != nil {
		log.Fatal(err)
	}

	// The worker's side: a token by name, valid for at least MinValidity.
	// A stale one would be refreshed here, once across all processes.
	acc, err := st.Source("Support mailbox", tokenstore.ActorEvmail).Token(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("account:", acc.Email)
	fmt.Println("provider:", acc.Type)
	fmt.Println("the token the sandbox issued:", acc.Token.Equal(grant.AccessToken))
	fmt.Println("valid for 10 minutes more:", time.Until(acc.Expiry) >= tokenstore.MinValidity)
	fmt.Println("refreshes so far:", len(p.Refreshes()))
	// Output:
	// account: support@contoso.example
	// provider: microsoft
	// the token the sandbox issued: true
	// valid for 10 minutes more: true
	// refreshes so far: 0
}
