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
	cloud := fs.String("cloud", "", "Microsoft cloud: global (default), usgov (GCC High), usdod (DoD) or china (21Vianet)")
	clientID := fs.String("client-id", "", "the app's client ID")
	scope := fs.String("scope", "", "scopes (default: the type's mail scopes)")
	authURL := fs.String("auth-url", "", "authorization URL (required for generic)")
	tokenURL := fs.String("token-url", "", "token URL (required for generic)")
	secretFile := fs.String("client-secret-file", "", "file holding the client secret (else read from stdin)")
	secretExpires := fs.String("client-secret-expires", "", "the secret's expiry date, YYYY-MM-DD (optional)")
	noSecret := fs.Bool("no-client-secret", false, "a public client without a secret")
	keyFile := fs.String("client-key-file", "", "instead of a secret: a certificate and its private key (PEM, Microsoft), or a service account's JSON key (Google)")
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
		ClientID: *clientID, Scope: *scope, AuthURL: *authURL, TokenURL: *tokenURL, Cloud: *cloud}}
	if c, ok := provider.LookupCloud(*cloud); ok && t == provider.Microsoft {
		// The worldwide cloud is stored as none, like tokens made before
		// clouds; an unknown name is left for Validate to refuse.
		set.Cloud = c.Name
		if c.Name == provider.CloudGlobal {
			set.Cloud = ""
		}
	}
	if *secretExpires != "" {
		d, err := time.Parse(time.DateOnly, *secretExpires)
		if err != nil {
			return cmdline.Usagef("--client-secret-expires %q: use YYYY-MM-DD", *secretExpires)
		}
		set.SecretExpiresOn = d
	}
	var keyInfo provider.KeyInfo
	if *keyFile != "" {
		key, err := readClientKey(env, *keyFile)
		if err != nil {
			return err
		}
		if keyInfo, err = setClientKey(&set, key, env.clock()); err != nil {
			return notAdded(err)
		}
		*noSecret = true // the key is the app's credential
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
	switch {
	case set.ServiceAccountMode():
		fmt.Fprintf(env.Stdout, "token %s added with %s; get a token for %s with: evadmin token apponly %s\n", tok.Name, keyInfo, tok.Email, shellWord(tok.Name))
	case keyInfo.Kind != "":
		fmt.Fprintf(env.Stdout, "token %s added with %s; get it with: evadmin token login %s (or token apponly)\n", tok.Name, keyInfo, shellWord(tok.Name))
	default:
		fmt.Fprintf(env.Stdout, "token %s added; get it with: evadmin token login %q\n", tok.Name, tok.Name)
	}
	return nil
}

// flagNames are the command line's words for the fields the store and the
// provider report problems with (by identifier, see package fielderr).
var flagNames = map[string]string{
	tokenstore.FieldName:            "NAME",
	provider.FieldType:              "--type",
	provider.FieldEmail:             "--email",
	provider.FieldTenant:            "--tenant",
	provider.FieldCloud:             "--cloud",
	provider.FieldClientID:          "--client-id",
	provider.FieldClientSecret:      "--client-secret-file",
	provider.FieldClientKey:         "--client-key-file",
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
