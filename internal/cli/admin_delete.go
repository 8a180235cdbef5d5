package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/admin/accounts"
)

// runAdminDelete deletes an admin account and ends its sessions; the last
// admin is refused.
func runAdminDelete(env *Env, args []string) error {
	pos, err := env.Parse(flag.NewFlagSet("admin delete", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	if err := accounts.New(store.DB(), nil).Delete(env.Ctx, pos[0], accounts.ActorCLI); err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "admin %s deleted; its sessions were ended\n", pos[0])
	return nil
}
