package form

import (
	"net/url"
	"slices"
	"strings"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/provider"
	"mailtokens/internal/tokenstore"
)

// Standard is the part of the token form for standards-compliant
// providers ("Other OAuth2 provider"): the issuer to discover from, the
// device, revocation and userinfo endpoints, the client authentication
// method and extra authorization parameters. Its inputs are in
// templates/form_standard.html.
type Standard struct {
	Issuer, DeviceURL, RevokeURL, UserinfoURL string
	ClientAuth                                string // "" = the default (client_secret_post)
	AuthParams                                string
}

// ActionDiscover is the value of the form's "action" button that asks
// for discovery instead of saving.
const ActionDiscover = "discover"

// Discovering reports whether the form was sent with the Discover button.
func Discovering(v url.Values) bool { return v.Get("action") == ActionDiscover }

func readStandard(v url.Values) Standard {
	get := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return Standard{
		Issuer: get(provider.FieldIssuer), DeviceURL: get(provider.FieldDeviceURL), RevokeURL: get(provider.FieldRevokeURL),
		UserinfoURL: get(provider.FieldUserinfoURL), ClientAuth: get(provider.FieldClientAuth), AuthParams: get(provider.FieldAuthParams),
	}
}

func standardFrom(t *tokenstore.Token) Standard {
	return Standard{Issuer: t.Issuer, DeviceURL: t.DeviceURL, RevokeURL: t.RevokeURL, UserinfoURL: t.UserinfoURL,
		ClientAuth: t.ClientAuth, AuthParams: t.AuthParams}
}

// apply puts the fields into the settings of a generic token; other types
// keep none of them (the inputs are hidden for them, and a value left
// from switching type must not end up in the token). A new client with a
// secret method must come with its secret.
func (s Standard) apply(set *tokenstore.Settings, creating bool, errs *fielderr.List) {
	if set.Type != provider.Generic {
		return
	}
	set.Issuer, set.DeviceURL, set.RevokeURL, set.UserinfoURL = s.Issuer, s.DeviceURL, s.RevokeURL, s.UserinfoURL
	set.ClientAuth, set.AuthParams = s.ClientAuth, s.AuthParams
	if creating && set.ClientSecret.IsZero() && (s.ClientAuth == provider.ClientSecretBasic || s.ClientAuth == provider.ClientSecretPost) {
		errs.Add(provider.FieldClientSecret, "is required with "+s.ClientAuth+": the secret your provider gave the client (or choose none for a public client)")
	}
}

// Fill sets the form from what discovery found, as Discovery.Apply sets a
// config: the URLs, the issuer, the client authentication method (for a
// client with a secret, as most are: choose none by hand for a public
// one) and offline_access in the scope when the server lists it.
func (f *Token) Fill(d *provider.Discovery) {
	c := provider.Config{Scope: f.Scope, ClientAuth: f.Standard.ClientAuth}
	d.Apply(&c, f.Standard.ClientAuth != provider.ClientAuthNone)
	f.AuthURL, f.TokenURL, f.Scope = c.AuthURL, c.TokenURL, c.Scope
	f.Standard = Standard{Issuer: c.Issuer, DeviceURL: c.DeviceURL, RevokeURL: c.RevokeURL, UserinfoURL: c.UserinfoURL,
		ClientAuth: c.ClientAuth, AuthParams: f.Standard.AuthParams}
}

// ClientAuthOption is one choice of the client authentication select.
type ClientAuthOption struct {
	Value, Label string
	Selected     bool
}

// ClientAuthOptions are the choices, with the form's selected.
func (s Standard) ClientAuthOptions() []ClientAuthOption {
	out := []ClientAuthOption{{Value: "", Label: "default (client_secret_post, the secret in the form body)", Selected: s.ClientAuth == ""}}
	labels := map[string]string{
		provider.ClientSecretBasic: "client_secret_basic (HTTP Basic; every server takes it)",
		provider.ClientSecretPost:  "client_secret_post (the secret in the form body)",
		provider.ClientAuthNone:    "none (a public client: no secret, PKCE only)",
	}
	for _, m := range provider.ClientAuthMethods {
		l := labels[m]
		if l == "" {
			l = m
		}
		out = append(out, ClientAuthOption{Value: m, Label: l, Selected: s.ClientAuth == m})
	}
	if s.ClientAuth != "" && !slices.Contains(provider.ClientAuthMethods, s.ClientAuth) {
		out = append(out, ClientAuthOption{Value: s.ClientAuth, Label: s.ClientAuth, Selected: true})
	}
	return out
}
