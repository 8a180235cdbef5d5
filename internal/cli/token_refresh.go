package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/tokenstore"
)

func runTokenRefresh(env *Env, args []string) error {
	return env.withToken(flag.NewFlagSet("token refresh", flag.ContinueOnError), args, func(store *tokenstore.Store, name string) error {
		a, err := store.Source(name, tokenstore.ActorCLI).Refresh(env.Ctx)
		if err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "token %s refreshed; valid until %s\n", name, a.Expiry.Local().Format("2006-01-02 15:04"))
		return nil
	})
}
