package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/cmdline"
)

// runStoreCheck says which store the properties name and whether it is
// sound: engine, where, schema version, key, token count. Exit 1 when
// something is wrong.
func runStoreCheck(env *Env, args []string) error {
	if _, err := env.Parse(flag.NewFlagSet("store check", flag.ContinueOnError), args, 0); err != nil {
		return err
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	db := store.DB()
	w := env.Stdout
	fmt.Fprintf(w, "engine:   %s\n", db.Engine())
	fmt.Fprintf(w, "store:    %s\n", db.Path())
	ok := true
	have, want, err := db.SchemaVersion(env.Ctx)
	switch {
	case err != nil:
		fmt.Fprintf(w, "schema:   %v\n", err)
		ok = false
	case have == want:
		fmt.Fprintf(w, "schema:   version %d (current)\n", have)
	default:
		fmt.Fprintf(w, "schema:   version %d, this program writes %d\n", have, want)
		ok = false
	}
	if err := db.CheckKey(env.Ctx); err != nil {
		fmt.Fprintf(w, "key:      %v\n", err)
		ok = false
	} else {
		fmt.Fprintf(w, "key:      %s (matches the store)\n", db.KeyID())
	}
	names, err := store.Names(env.Ctx)
	if err != nil {
		fmt.Fprintf(w, "tokens:   %v\n", err)
		ok = false
	} else {
		fmt.Fprintf(w, "tokens:   %d\n", len(names))
	}
	if !ok {
		return cmdline.ErrFailed
	}
	return nil
}
