package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenDelete(env *Env, args []string) error {
	pos, err := flags(flag.NewFlagSet("token delete", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	tasks, err := store.Tasks(env.Ctx, pos[0])
	if err != nil {
		return err
	}
	if err := store.Delete(env.Ctx, pos[0], tokenstore.ActorCLI); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "token %s deleted\n", pos[0])
	for _, t := range tasks {
		fmt.Fprintf(env.Stdout, "warning: %s (%s on %s) used it and will fail until it names another token\n", t.Task, t.Actor, t.Host)
	}
	return nil
}
