package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/admin/accounts"
)

// runAdminUnlock forgets an admin's failed logins, from every address, so
// that it may log in at once.
func runAdminUnlock(env *Env, args []string) error {
	pos, err := env.Parse(flag.NewFlagSet("admin unlock", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := accounts.New(store.DB(), nil).Unlock(env.Ctx, name, accounts.ActorCLI)
	if err != nil {
		return err
	}
	if n == 0 {
		fmt.Fprintf(env.Stdout, "admin %s has no failed logins to forget\n", name)
	} else {
		fmt.Fprintf(env.Stdout, "admin %s may log in again: failed logins from %d address(es) forgotten\n", name, n)
	}
	return nil
}
