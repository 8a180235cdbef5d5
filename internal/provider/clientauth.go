package provider

import (
	"net/http"
	"net/url"
	"slices"

	"golang.org/x/oauth2"
)

// Client authentication: how a request to the token, device authorization
// and revocation endpoints says which client it comes from (RFC 6749
// §2.3). The names are those of OAuth 2.0 Dynamic Client Registration
// (RFC 7591 §2) that discovery documents list in
// token_endpoint_auth_methods_supported.
const (
	// ClientSecretBasic sends the client ID and secret as HTTP Basic
	// credentials, each form-encoded first (RFC 6749 §2.3.1). Every
	// server must accept it for clients with a secret.
	ClientSecretBasic = "client_secret_basic"
	// ClientSecretPost sends them as client_id and client_secret in the
	// form body. Microsoft and Google take it, and it is what tokens saved
	// before the choice existed ("") use.
	ClientSecretPost = "client_secret_post"
	// ClientAuthNone is a public client: client_id only, no secret; the
	// code flow is protected by PKCE alone.
	ClientAuthNone = "none"
)

// ClientAuthMethods are the methods an admin may choose, in the order a
// form shows them.
var ClientAuthMethods = []string{ClientSecretBasic, ClientSecretPost, ClientAuthNone, ClientAuthPrivateKeyJWT}

// ClientAuthMethod is the method the config uses: ClientAuth, or for ""
// the type's usual one (client_secret_post, which every token saved before
// the choice existed used; with no secret that is a public client).
func (c Config) ClientAuthMethod() string {
	if c.ClientAuth != "" {
		return c.ClientAuth
	}
	return ClientSecretPost
}

// clientAuth is how one config authenticates its requests. It is the one
// place that knows the methods: a new method is a new case in
// Config.clientAuth.
type clientAuth struct {
	// style tells x/oauth2 where the credentials go. Never
	// AuthStyleAutoDetect: it retries the other style on any error and
	// reports only the second answer (docs/providers.md, "Client
	// authentication").
	style  oauth2.AuthStyle
	id     string
	secret string // "" sends none
}

// clientAuth resolves the config's method.
func (c Config) clientAuth() clientAuth {
	a := clientAuth{id: c.ClientID, secret: c.ClientSecret.Reveal()}
	switch c.ClientAuthMethod() {
	case ClientSecretBasic:
		a.style = oauth2.AuthStyleInHeader
	case ClientAuthNone:
		a.style, a.secret = oauth2.AuthStyleInParams, ""
	case ClientAuthPrivateKeyJWT:
		// No secret: Config.ctx's HTTP client signs a client assertion
		// into every token request (assertion.go).
		a.style, a.secret = oauth2.AuthStyleInParams, ""
	default: // ClientSecretPost
		a.style = oauth2.AuthStyleInParams
	}
	return a
}

// apply authenticates a request we build ourselves (device authorization,
// revocation) the way x/oauth2 does for the token endpoint: client_id in
// the body always (RFC 8628 §3.1 asks for it; for Basic it repeats the
// header's), the secret in the body or in the header.
func (a clientAuth) apply(req *http.Request, form url.Values) {
	form.Set("client_id", a.id)
	if a.secret == "" {
		return
	}
	if a.style == oauth2.AuthStyleInHeader {
		req.SetBasicAuth(url.QueryEscape(a.id), url.QueryEscape(a.secret))
		return
	}
	form.Set("client_secret", a.secret)
}

// ChooseClientAuth picks the method for a client from what a server lists
// in token_endpoint_auth_methods_supported (RFC 8414 §2; an absent list
// means client_secret_basic, the only method RFC 6749 §2.3.1 obliges
// servers to support). With a secret: client_secret_basic when listed (it
// is the one every server must accept, and RFC 6749 calls the body form
// NOT RECOMMENDED), else client_secret_post when listed; without one:
// none. "" when the server lists nothing we can do (say, only
// private_key_jwt): the admin must choose.
func ChooseClientAuth(supported []string, hasSecret bool) string {
	if !hasSecret {
		return ClientAuthNone
	}
	if len(supported) == 0 || slices.Contains(supported, ClientSecretBasic) {
		return ClientSecretBasic
	}
	if slices.Contains(supported, ClientSecretPost) {
		return ClientSecretPost
	}
	return ""
}
