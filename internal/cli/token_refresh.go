package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

func runTokenRefresh(env *Env, args []string) error {
	pos, err := flags(flag.NewFlagSet("token refresh", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	a, err := store.Source(pos[0], tokenstore.ActorCLI).Refresh(env.Ctx)
	if err != nil {
		return fmt.Errorf("%s", provider.Explain(err))
	}
	fmt.Fprintf(env.Stdout, "token %s refreshed; valid until %s\n", pos[0], a.Expiry.Local().Format("2006-01-02 15:04"))
	return nil
}
