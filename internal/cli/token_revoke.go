package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenRevoke(env *Env, args []string) error {
	return env.withToken(flag.NewFlagSet("token revoke", flag.ContinueOnError), args, func(store *tokenstore.Store, name string) error {
		advice, err := store.Revoke(env.Ctx, name, tokenstore.ActorCLI)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "token %s revoked\n%s\n", name, advice)
		return nil
	})
}
