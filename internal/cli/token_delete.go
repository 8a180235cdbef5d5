package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenDelete(env *Env, args []string) error {
	return env.withToken(flag.NewFlagSet("token delete", flag.ContinueOnError), args, func(store *tokenstore.Store, name string) error {
		tasks, err := store.Tasks(env.Ctx, name)
		if err != nil {
			return err
		}
		if err := store.Delete(env.Ctx, name, tokenstore.ActorCLI); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "token %s deleted\n", name)
		for _, t := range tasks {
			fmt.Fprintf(env.Stdout, "warning: %s (%s on %s) used it and will fail until it names another token\n", t.Task, t.Actor, t.Host)
		}
		return nil
	})
}
