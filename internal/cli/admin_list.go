package cli

import (
	"flag"
	"fmt"
	"text/tabwriter"
	"time"

	"mailtokens/internal/admin/accounts"
)

// runAdminList lists the admin accounts, and with --events the newest
// entries of the account log.
func runAdminList(env *Env, args []string) error {
	fs := flag.NewFlagSet("admin list", flag.ContinueOnError)
	events := fs.Bool("events", false, "also show the newest account events")
	if _, err := env.Parse(fs, args, 0); err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	acc := accounts.New(store.DB(), nil)
	list, err := acc.List(env.Ctx)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		fmt.Fprintln(env.Stdout, "No admin accounts. Create one with: evadmin admin passwd NAME")
		return nil
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tCREATED\tLAST LOGIN")
	for _, a := range list {
		fmt.Fprintf(tw, "%s\t%s\t%s\n", a.Name, stamp(a.CreatedAt), stamp(a.LastLoginAt))
	}
	tw.Flush()
	if !*events {
		return nil
	}
	ev, err := acc.Events(env.Ctx, 50)
	if err != nil {
		return err
	}
	fmt.Fprintln(env.Stdout, "\nAccount events, newest first:")
	tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "WHEN\tWHAT\tADMIN\tWHO\tDETAILS")
	for _, e := range ev {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", stamp(e.At), e.Kind, e.Admin, e.Actor, e.Text)
	}
	return tw.Flush()
}

// stamp is a time as the admin lists show it: local, to the minute.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Local().Format("2006-01-02 15:04")
}
