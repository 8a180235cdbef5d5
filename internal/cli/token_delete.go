package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenDelete(env *Env, args []string) error {
	fs := flag.NewFlagSet("token delete", flag.ContinueOnError)
	force := fs.Bool("force", false, "delete the token even though task files use it")
	return env.withToken(fs, args, func(store *tokenstore.Store, name string) error {
		tasks, err := refuseInUse(env, store, name, "delete", *force)
		if err != nil {
			return err
		}
		if err := store.Delete(env.Ctx, name, tokenstore.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "token %s deleted\n", name)
		for _, t := range tasks {
			fmt.Fprintf(env.Stdout, "warning: %s used it and will fail until it names another token\n", t.Task)
		}
		return nil
	})
}
