package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenRevoke(env *Env, args []string) error {
	fs := flag.NewFlagSet("token revoke", flag.ContinueOnError)
	force := fs.Bool("force", false, "revoke the token even though task files use it")
	return env.withToken(fs, args, func(store *tokenstore.Store, name string) error {
		tasks, err := refuseInUse(env, store, name, "revoke", *force)
		if err != nil {
			return err
		}
		advice, err := store.Revoke(env.Ctx, name, tokenstore.ActorCLI)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "token %s revoked\n%s\n", name, advice)
		for _, t := range tasks {
			fmt.Fprintf(env.Stdout, "warning: %s uses it and will fail until the token is authorized again\n", t.Task)
		}
		return nil
	})
}
