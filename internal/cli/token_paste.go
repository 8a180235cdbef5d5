package cli

import (
	"flag"
	"fmt"
	"io"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// runTokenPaste stores a standard OAuth2 token response read from stdin.
func runTokenPaste(env *Env, args []string) error {
	return env.withToken(flag.NewFlagSet("token paste", flag.ContinueOnError), args, func(store *tokenstore.Store, name string) error {
		data, err := io.ReadAll(io.LimitReader(env.Stdin, 1<<20))
		if err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
		tok, err := provider.ParseTokenResponse(data)
		if err != nil {
			return fmt.Errorf("stdin: %w", err)
		}
		saved, err := store.SaveGrant(env.Ctx, name, tokenstore.GrantPasted, tok, tokenstore.ActorCLI)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "token %s stored; the access token is valid until %s\n", saved.Name, saved.Expiry.Local().Format("2006-01-02 15:04"))
		if !saved.HasRefreshToken {
			fmt.Fprintln(env.Stdout, "note: no refresh token, so it cannot be renewed when it expires")
		}
		return nil
	})
}
