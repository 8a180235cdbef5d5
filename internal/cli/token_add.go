package cli

import (
	"errors"
	"flag"
	"fmt"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// runTokenAdd adds a token. The client secret comes from
// --client-secret-file or stdin; a flag value would show in `ps`.
func runTokenAdd(env *Env, args []string) error {
	fs := flag.NewFlagSet("token add", flag.ContinueOnError)
	typ := fs.String("type", "", "microsoft, google or generic")
	email := fs.String("email", "", "the mailbox account")
	tenant := fs.String("tenant", "", "Microsoft tenant ID or domain")
	clientID := fs.String("client-id", "", "the app's client ID")
	scope := fs.String("scope", "", "scopes (default: the type's mail scopes)")
	authURL := fs.String("auth-url", "", "authorization URL (required for generic)")
	tokenURL := fs.String("token-url", "", "token URL (required for generic)")
	secretFile := fs.String("client-secret-file", "", "file holding the client secret (else read from stdin)")
	secretExpires := fs.String("client-secret-expires", "", "the secret's expiry date, YYYY-MM-DD (optional)")
	noSecret := fs.Bool("no-client-secret", false, "a public client without a secret")
	std := addStandardFlags(fs)
	pos, err := env.Parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *typ == "" {
		return cmdline.Usagef("--type is required: microsoft, google or generic")
	}
	t, err := provider.ParseType(*typ)
	if err != nil {
		return cmdline.Usagef("%v", err)
	}
	set := tokenstore.Settings{Name: pos[0], Config: provider.Config{Type: t, Email: *email, Tenant: *tenant,
		ClientID: *clientID, Scope: *scope, AuthURL: *authURL, TokenURL: *tokenURL}}
	if *secretExpires != "" {
		d, err := time.Parse(time.DateOnly, *secretExpires)
		if err != nil {
			return cmdline.Usagef("--client-secret-expires %q: use YYYY-MM-DD", *secretExpires)
		}
		set.SecretExpiresOn = d
	}
	if err := std.apply(env, &set, !*noSecret); err != nil {
		return err
	}
	// Check everything else before asking for the secret.
	if err := set.Validate(); err != nil {
		return notAdded(err)
	}
	store, err := env.create()
	if err != nil {
		return err
	}
	defer store.Close()
	if !*noSecret {
		s, err := readSecret(env, *secretFile, "client secret")
		if err != nil {
			return err
		}
		if s == "" {
			return fmt.Errorf("the client secret is empty (give --client-secret-file, pipe it on stdin, or use --no-client-secret)")
		}
		set.ClientSecret = secret.New(s)
	}
	tok, err := store.Create(env.Ctx, set, tokenstore.ActorCLI)
	if err != nil {
		return notAdded(err)
	}
	fmt.Fprintf(env.Stdout, "token %s added; get it with: evadmin token login %q\n", tok.Name, tok.Name)
	return nil
}

// flagNames are the command line's words for the fields the store and the
// provider report problems with (by identifier, see package fielderr).
var flagNames = map[string]string{
	tokenstore.FieldName:            "NAME",
	provider.FieldType:              "--type",
	provider.FieldEmail:             "--email",
	provider.FieldTenant:            "--tenant",
	provider.FieldClientID:          "--client-id",
	provider.FieldClientSecret:      "--client-secret-file",
	tokenstore.FieldSecretExpiresOn: "--client-secret-expires",
	provider.FieldScope:             "--scope",
	provider.FieldAuthURL:           "--auth-url",
	provider.FieldTokenURL:          "--token-url",
	provider.FieldIssuer:            "--issuer",
	provider.FieldDeviceURL:         "--device-url",
	provider.FieldRevokeURL:         "--revoke-url",
	provider.FieldUserinfoURL:       "--userinfo-url",
	provider.FieldClientAuth:        "--client-auth",
	provider.FieldAuthParams:        "--auth-params",
}

// notAdded says why `token add` refused, naming each field by its flag.
func notAdded(err error) error {
	var l fielderr.List
	if errors.As(err, &l) {
		err = l.Rename(flagNames)
	}
	return fmt.Errorf("the token was not added:\n%w", err)
}
