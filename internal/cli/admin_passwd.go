package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/admin/accounts"
)

// runAdminPasswd creates an admin or changes its password. The password is
// read from stdin (a prompt without echo at a terminal), never from a flag.
func runAdminPasswd(env *Env, args []string) error {
	pos, err := env.Parse(flag.NewFlagSet("admin passwd", flag.ContinueOnError), args, 1)
	if err != nil {
		return err
	}
	name := pos[0]
	store, err := env.create()
	if err != nil {
		return err
	}
	defer store.Close()
	pw, err := readSecret(env, "", "password for "+name)
	if err != nil {
		return err
	}
	created, err := accounts.New(store.DB(), nil).SetAdminPassword(env.Ctx, name, pw)
	if err != nil {
		return err
	}
	if created {
		fmt.Fprintf(env.Stdout, "admin %s created\n", name)
	} else {
		fmt.Fprintf(env.Stdout, "password of admin %s changed; its sessions were ended\n", name)
	}
	return nil
}
