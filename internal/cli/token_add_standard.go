package cli

import (
	"flag"
	"fmt"
	"strings"

	"mailtokens/internal/advice"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// standardFlags are `token add`'s flags for standards providers: an
// issuer to discover the rest from, and each discovered setting to give
// or override by hand.
type standardFlags struct {
	issuer, deviceURL, revokeURL, userinfoURL, clientAuth, authParams *string
}

func addStandardFlags(fs *flag.FlagSet) standardFlags {
	return standardFlags{
		issuer:      fs.String("issuer", "", "generic: the provider's issuer; its discovery document (RFC 8414, OpenID Connect) fills the URLs, --client-auth and offline_access"),
		deviceURL:   fs.String("device-url", "", "generic: device authorization URL (RFC 8628), for token login --device"),
		revokeURL:   fs.String("revoke-url", "", "generic: revocation URL (RFC 7009)"),
		userinfoURL: fs.String("userinfo-url", "", "generic: OpenID Connect userinfo URL"),
		clientAuth:  fs.String("client-auth", "", "generic: "+strings.Join(provider.ClientAuthMethods, ", ")+" (default: from discovery, else client_secret_post)"),
		authParams:  fs.String("auth-params", "", "generic: extra authorization parameters, as a query string (acr_values=mfa&ui_locales=en)"),
	}
}

// apply discovers from --issuer (generic tokens only), then lets the
// flags given override what it found.
func (f standardFlags) apply(env *Env, set *tokenstore.Settings, hasSecret bool) error {
	given := *f.issuer != "" || *f.deviceURL != "" || *f.revokeURL != "" || *f.userinfoURL != "" || *f.clientAuth != "" || *f.authParams != ""
	if !given {
		return nil
	}
	if set.Type != provider.Generic {
		return fmt.Errorf("--issuer, --device-url, --revoke-url, --userinfo-url, --client-auth and --auth-params are for --type generic")
	}
	if *f.issuer != "" {
		authURL, tokenURL := set.AuthURL, set.TokenURL
		d, err := set.Discover(env.Ctx, *f.issuer) // the default client: provider timeouts, no redirects
		if err != nil {
			return fmt.Errorf("the token was not added: %w\n%s", err, advice.Explain(err))
		}
		d.Apply(&set.Config, hasSecret)
		if authURL != "" {
			set.AuthURL = authURL
		}
		if tokenURL != "" {
			set.TokenURL = tokenURL
		}
		fmt.Fprintf(env.Stdout, "discovered from %s: client authentication %s, scope %q\n", d.Source, set.ClientAuthMethod(), set.Scope)
		for _, n := range d.Notes {
			fmt.Fprintln(env.Stdout, "note:", n)
		}
	}
	for _, o := range []struct {
		v   string
		dst *string
	}{
		{*f.deviceURL, &set.DeviceURL}, {*f.revokeURL, &set.RevokeURL}, {*f.userinfoURL, &set.UserinfoURL},
		{*f.clientAuth, &set.ClientAuth}, {*f.authParams, &set.AuthParams},
	} {
		if o.v != "" {
			*o.dst = o.v
		}
	}
	return nil
}
