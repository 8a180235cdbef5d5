package cli

import (
	"flag"
	"fmt"
	"path/filepath"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/database"
	"mailtokens/internal/tokenstore"
)

// runStoreCopy copies the store the properties name into a new, empty
// store (--to: a SQLite path or a PostgreSQL URL) with the same key, in one
// transaction, checks that the copy reads back, and says what was copied
// and what to change next. The source is left as it was.
func runStoreCopy(env *Env, args []string) error {
	fs := flag.NewFlagSet("store copy", flag.ContinueOnError)
	to := fs.String("to", "", "the new store: a SQLite path or a postgres:// URL (without the password)")
	passwordFile := fs.String("password-file", "", "the PostgreSQL password of --to (default: TOKEN_STORE_PASSWORD_FILE, else PGPASSFILE)")
	if _, err := env.Parse(fs, args, 0); err != nil {
		return err
	}
	if *to == "" {
		return cmdline.Usagef("--to is required: the new store's SQLite path or postgres:// URL")
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	if sameStore(cfg.Store.Path, *to) {
		return cmdline.Usagef("--to %s is the store the properties name already", *to)
	}
	if *passwordFile == "" {
		*passwordFile = cfg.Store.PasswordFile
	}
	// The source first: with a wrong key it refuses, and nothing is made.
	src, err := env.open()
	if err != nil {
		return err
	}
	defer src.Close()
	dstDB, err := database.Open(env.Ctx, database.Options{Path: *to, KeyFile: cfg.Store.KeyFile, PasswordFile: *passwordFile})
	if err != nil {
		return fmt.Errorf("open the target: %w", err)
	}
	defer dstDB.Close()
	from := src.DB()
	counts, err := database.Copy(env.Ctx, from, dstDB)
	if err != nil {
		return err
	}
	dst := tokenstore.New(dstDB, tokenstore.Options{})
	opened, err := sameSecrets(env, src, dst)
	if err != nil {
		return fmt.Errorf("check the copy %s: %w", dstDB.Path(), err)
	}

	w := env.Stdout
	fmt.Fprintf(w, "copied %s (%s)\n    to %s (%s), in one transaction:\n", from.Path(), from.Engine(), dstDB.Path(), dstDB.Engine())
	for _, c := range counts {
		fmt.Fprintf(w, "  %-16s %6d rows\n", c.Table, c.Rows)
	}
	fmt.Fprintf(w, "  %-16s    not copied: they belong to the processes on the old store\n", "leases")
	fmt.Fprintf(w, "checked: key %s opens the copy, every table reads back row for row, and the secrets of %d token(s) open and match\n", dstDB.KeyID(), opened)
	fmt.Fprintln(w, "next:")
	fmt.Fprintln(w, "  1. keep every program that uses the old store stopped (evadmin serve, evmail, batchmail): what they")
	fmt.Fprintln(w, "     change there from now on (a rotated refresh token, a delivered message) is not in the copy")
	fmt.Fprintln(w, "  2. in evadmin's properties and in every evmail and batchmail task file, on every host:")
	fmt.Fprintf(w, "       TOKEN_STORE = %s\n", *to)
	if dstDB.Engine() == database.PostgreSQL {
		if *passwordFile != "" {
			fmt.Fprintf(w, "       TOKEN_STORE_PASSWORD_FILE = %s\n", *passwordFile)
		} else {
			fmt.Fprintln(w, "       TOKEN_STORE_PASSWORD_FILE = <a 0600 file with the database password> (or a PGPASSFILE entry)")
		}
	}
	fmt.Fprintf(w, "     and the same key everywhere: TOKEN_STORE_KEY_FILE = %s copied to each host (key %s), or %s\n", cfg.Store.KeyFile, dstDB.KeyID(), database.KeyEnv)
	fmt.Fprintln(w, "  3. run evadmin store check on each host, then start the programs again")
	fmt.Fprintf(w, "  keep %s until the new store has run for a while; it is left as it was\n", from.Path())
	return nil
}

// sameStore reports whether the target names the source (a copy onto
// itself is refused before anything is opened).
func sameStore(a, b string) bool {
	if a == b {
		return true
	}
	if database.EngineOf(a) == database.PostgreSQL || database.EngineOf(b) == database.PostgreSQL {
		return false
	}
	aa, errA := filepath.Abs(a)
	bb, errB := filepath.Abs(b)
	return errA == nil && errB == nil && aa == bb
}

// sameSecrets opens every token of src and dst with their (same) key and
// checks that each holds the same secrets under the same id. It returns
// how many tokens it opened.
func sameSecrets(env *Env, src, dst *tokenstore.Store) (int, error) {
	names, err := src.Names(env.Ctx)
	if err != nil {
		return 0, err
	}
	for _, name := range names {
		a, err := src.Get(env.Ctx, name)
		if err != nil {
			return 0, err
		}
		b, err := dst.Get(env.Ctx, name)
		if err != nil {
			return 0, err
		}
		if a.ID != b.ID || !a.ClientSecret.Equal(b.ClientSecret) || !a.ClientKey.Equal(b.ClientKey) ||
			!a.AccessToken.Equal(b.AccessToken) || !a.RefreshToken.Equal(b.RefreshToken) {
			return 0, fmt.Errorf("token %q reads back with other secrets", name)
		}
	}
	return len(names), nil
}
