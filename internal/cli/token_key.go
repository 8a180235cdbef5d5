package cli

import (
	"flag"
	"fmt"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// runTokenKey replaces a token's client key (a new certificate before the
// old one expires, a new service account key), or removes it to go back
// to the client secret. The key comes from --client-key-file or stdin.
func runTokenKey(env *Env, args []string) error {
	fs := flag.NewFlagSet("token key", flag.ContinueOnError)
	file := fs.String("client-key-file", "", "the certificate and its private key (PEM), or the service account's JSON key (else read from stdin)")
	remove := fs.Bool("remove", false, "forget the stored key; the token uses its client secret again")
	return env.withToken(fs, args, func(store *tokenstore.Store, name string) error {
		t, err := store.Get(env.Ctx, name)
		if err != nil {
			return err
		}
		set := t.Settings
		var info provider.KeyInfo
		if *remove {
			if !t.HasClientKey {
				return fmt.Errorf("token %s has no client key", t.Name)
			}
			if !t.HasClientSecret && t.Type != provider.Generic {
				return cmdline.Usagef("token %s has no client secret to fall back on: save one first (in the web utility's Edit page)", t.Name)
			}
			set.DropClientKey, set.ClientKey = true, secret.Secret{}
			if set.ClientAuth == provider.ClientAuthPrivateKeyJWT {
				set.ClientAuth = ""
			}
		} else {
			key, err := readClientKey(env, *file)
			if err != nil {
				return err
			}
			if info, err = setClientKey(&set, key, env.clock()); err != nil {
				return fmt.Errorf("the client key was not saved:\n%w", err)
			}
		}
		if _, err := store.Update(env.Ctx, t.Name, set, tokenstore.ActorCLI); err != nil {
			return fmt.Errorf("the client key was not saved:\n%w", err)
		}
		if *remove {
			fmt.Fprintf(env.Stdout, "token %s: client key removed; the client secret is used again\n", t.Name)
		} else {
			fmt.Fprintf(env.Stdout, "token %s: %s stored (encrypted)\n", t.Name, info)
		}
		return nil
	})
}
