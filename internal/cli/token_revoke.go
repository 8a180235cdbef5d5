package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenRevoke(env *Env, args []string) error {
	pos, err := flags(flag.NewFlagSet("token revoke", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	advice, err := store.Revoke(env.Ctx, pos[0], tokenstore.ActorCLI)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "token %s revoked\n%s\n", pos[0], advice)
	return nil
}
