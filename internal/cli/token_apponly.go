package cli

import (
	"flag"
	"fmt"
	"strings"

	"mailtokens/internal/advice"
	"mailtokens/internal/tokenstore"
)

// ReplacesDelegatedError refuses to replace a token a person signed in
// for with an app-only one: its refresh token would be lost. --force
// does it anyway.
type ReplacesDelegatedError struct {
	Name  string
	Grant tokenstore.Grant
}

func (e *ReplacesDelegatedError) Error() string {
	return fmt.Sprintf("token %q holds a token a person signed in for (%s); an app-only token would replace it and its refresh token", e.Name, e.Grant)
}

// Advice says how to go ahead.
func (e *ReplacesDelegatedError) Advice() (string, advice.Kind) {
	return "Only a new sign-in (evadmin token login) brings the refresh token back. To replace it anyway: evadmin token apponly " +
		shellWord(e.Name) + " --force", advice.Misconfigured
}

// runTokenApponly gets an app-only token now: client credentials at
// Microsoft (with the client secret or the certificate), a service
// account's grant for the token's mailbox at Google. Workers then get new
// ones by themselves as needed.
func runTokenApponly(env *Env, args []string) error {
	fs := flag.NewFlagSet("token apponly", flag.ContinueOnError)
	force := fs.Bool("force", false, "replace a token a person signed in for (its refresh token is lost)")
	return env.withToken(fs, args, func(store *tokenstore.Store, name string) error {
		t, err := store.Get(env.Ctx, name)
		if err != nil {
			return err
		}
		if t.HasRefreshToken && !t.Grant.AppOnly() && !*force {
			return &ReplacesDelegatedError{Name: t.Name, Grant: t.Grant}
		}
		cfg := store.ProviderConfig(t, "")
		grant := tokenstore.GrantClientCredentials
		if cfg.ServiceAccountMode() {
			grant = tokenstore.GrantServiceAccount
		}
		tok, err := cfg.AppOnly(env.Ctx)
		if err != nil {
			return fmt.Errorf("token %s: no app-only token: %w", t.Name, err)
		}
		saved, err := store.SaveGrant(env.Ctx, t.Name, grant, tok, tokenstore.ActorCLI)
		if err != nil {
			return err
		}
		as := "the app"
		if grant == tokenstore.GrantServiceAccount {
			as = saved.Email + " (service account)"
		}
		fmt.Fprintf(env.Stdout, "token %s: app-only token for %s, valid until %s; scopes: %s\n", saved.Name, as,
			saved.Expiry.Local().Format("2006-01-02 15:04"), strings.Join(cfg.AppOnlyScopes(), " "))
		return nil
	})
}
