// Package provider knows how Microsoft's identity platform, Google and
// generic OAuth2 servers hand out tokens for mail: their endpoints, the scopes
// that mail needs, the authorization-code flow with PKCE, the device flow,
// app-only tokens, refresh, revocation, and what their errors mean in plain
// words.
//
// It holds no state: a Config describes one registered app and every call
// talks to the provider once.
package provider

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"mailtokens/internal/fielderr"
	"mailtokens/internal/secret"
)

// Type is the kind of provider a token comes from.
type Type string

// The provider types. The strings are stored in the token store and used on
// the command line, so they never change.
const (
	Microsoft Type = "microsoft"
	Google    Type = "google"
	Generic   Type = "generic"
)

// Types lists every type, in the order forms show them.
var Types = []Type{Microsoft, Google, Generic}

// Label is the name the admin utility shows.
func (t Type) Label() string {
	switch t {
	case Microsoft:
		return "Microsoft Azure"
	case Google:
		return "Google Gmail"
	case Generic:
		return "Other OAuth2 provider"
	}
	return string(t)
}

// ParseType accepts a stored type or a word an admin would type for it.
func ParseType(s string) (Type, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "microsoft", "azure", "microsoft azure", "entra", "office365", "m365":
		return Microsoft, nil
	case "google", "gmail", "google gmail", "workspace":
		return Google, nil
	case "generic", "other":
		return Generic, nil
	}
	return "", fmt.Errorf("unknown token type %q: use microsoft, google or generic", s)
}

// Well-known endpoints.
const (
	MicrosoftAuthority  = "https://login.microsoftonline.com"
	GoogleAuthURL       = "https://accounts.google.com/o/oauth2/v2/auth"
	GoogleTokenURL      = "https://oauth2.googleapis.com/token"
	GoogleRevokeURL     = "https://oauth2.googleapis.com/revoke"
	GoogleDeviceAuthURL = "https://oauth2.googleapis.com/device/code"
)

// Config describes one app registration at a provider and what to ask it for.
type Config struct {
	Type         Type
	Tenant       string // Microsoft: common, organizations, consumers, a tenant GUID or a verified domain
	ClientID     string
	ClientSecret secret.Secret
	Scope        string // as the admin entered it: space or comma separated; empty = the type's default
	Email        string // the mailbox account, sent as login_hint when known

	// Endpoint overrides. Empty means "derive from Type and Tenant". National
	// clouds and the sandbox set AuthURL and TokenURL; the device and revoke
	// endpoints are then derived from TokenURL the way each provider lays
	// them out.
	AuthURL     string
	TokenURL    string
	DeviceURL   string
	RevokeURL   string
	UserinfoURL string // OIDC userinfo, to learn who signed in
	Issuer      string // the issuer discovery named (RFC 8414, OIDC Discovery); "" when unknown

	// ClientAuth is how the client authenticates at the token endpoint:
	// client_secret_post, client_secret_basic, none, private_key_jwt; ""
	// picks the type's usual one (issue 12).
	ClientAuth string
	// AuthParams are extra authorization request parameters some servers
	// need, as a query string ("prompt=consent&acr_values=...").
	AuthParams string
	// Cloud is Microsoft's national cloud ("" = global, see Clouds); it
	// decides the authority and the mail resource of the default scopes.
	// AuthURL and TokenURL, when set, still win over its authority.
	Cloud string
	// ClientKey is a credential other than the secret: a certificate's
	// private key (PEM, with the certificate) for private_key_jwt, or a
	// Google service account's JSON key. Write-only, sealed at rest.
	ClientKey secret.Secret

	RedirectURL string // where the provider sends the browser back (PUBLIC_URL + /oauth2/callback)

	// HTTPClient makes every request; nil means DefaultHTTPClient. It must
	// have timeouts: a provider that never answers must not hang a worker.
	HTTPClient *http.Client
	// Now dates the JWTs the client signs (client assertions, service
	// account grants); nil means time.Now.
	Now func() time.Time
}

// Endpoints are the URLs a Config talks to.
type Endpoints struct {
	Auth, Token, Device, Revoke string
}

// Endpoints returns the URLs for the config's type, tenant and overrides.
func (c Config) Endpoints() Endpoints {
	var e Endpoints
	switch c.Type {
	case Microsoft:
		tenant := c.Tenant
		if tenant == "" {
			tenant = "common"
		}
		base := c.cloud().Authority + "/" + url.PathEscape(tenant) + "/oauth2/v2.0"
		e = Endpoints{Auth: base + "/authorize", Token: base + "/token", Device: base + "/devicecode"}
	case Google:
		e = Endpoints{Auth: GoogleAuthURL, Token: GoogleTokenURL, Device: GoogleDeviceAuthURL, Revoke: GoogleRevokeURL}
	}
	if c.AuthURL != "" {
		e.Auth = c.AuthURL
	}
	if c.TokenURL != "" && c.TokenURL != e.Token {
		e.Token = c.TokenURL
		// Derive the siblings of an overridden token URL: Microsoft's
		// .../token -> .../devicecode; Google's .../token -> .../device/code
		// and .../revoke. National clouds and the sandbox keep that layout.
		if base, ok := strings.CutSuffix(c.TokenURL, "/token"); ok {
			switch c.Type {
			case Microsoft:
				e.Device = base + "/devicecode"
			case Google:
				e.Device = base + "/device/code"
				e.Revoke = base + "/revoke"
			default:
				e.Device, e.Revoke = "", ""
			}
		}
	}
	if c.DeviceURL != "" {
		e.Device = c.DeviceURL
	}
	if c.RevokeURL != "" {
		e.Revoke = c.RevokeURL
	}
	return e
}

// oauth2Config is the x/oauth2 view of the config, with the client
// authentication its method says (clientauth.go): never x/oauth2's
// auto-detection, which tries Basic first and, on any error, retries in
// the body, hiding the first error (docs/providers.md, "Client
// authentication").
func (c Config) oauth2Config(scopes []string) *oauth2.Config {
	e := c.Endpoints()
	a := c.clientAuth()
	return &oauth2.Config{
		ClientID:     a.id,
		ClientSecret: a.secret,
		Endpoint: oauth2.Endpoint{
			AuthURL:       e.Auth,
			TokenURL:      e.Token,
			DeviceAuthURL: e.Device,
			AuthStyle:     a.style,
		},
		RedirectURL: c.RedirectURL,
		Scopes:      scopes,
	}
}

var (
	guidRE   = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	domainRE = regexp.MustCompile(`^([a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z]{2,63}$`)
)

// ValidTenant reports whether s can stand in a Microsoft endpoint path.
func ValidTenant(s string) bool {
	switch strings.ToLower(s) {
	case "common", "organizations", "consumers":
		return true
	}
	return guidRE.MatchString(s) || domainRE.MatchString(s)
}

// Identifiers of the Config fields an admin enters, as problems with them
// name them ([fielderr.Error]); forms and the command line show them in
// their own words.
const (
	FieldType         = "type"
	FieldTenant       = "tenant"
	FieldClientID     = "client_id"
	FieldClientSecret = "client_secret"
	FieldScope        = "scope"
	FieldEmail        = "email"
	FieldAuthURL      = "auth_url"
	FieldTokenURL     = "token_url"
	FieldDeviceURL    = "device_url"
	FieldRevokeURL    = "revoke_url"
	FieldCloud        = "cloud"
	// FieldClientKey (assertion.go) is the certificate or service account key.
	FieldUserinfoURL = "userinfo_url"
	FieldIssuer      = "issuer"
	FieldClientAuth  = "client_auth"
	FieldAuthParams  = "auth_params"
)

// Validate checks the fields an admin enters and reports every problem as a
// [fielderr.List], naming fields by their Field identifiers.
func (c Config) Validate() error {
	var errs fielderr.List
	switch c.Type {
	case Microsoft, Google, Generic:
	default:
		errs.Add(FieldType, fmt.Sprintf("%q is not a type: choose Microsoft Azure, Google Gmail or other", c.Type))
	}
	if c.Type == Microsoft {
		switch {
		case c.Tenant == "":
			errs.Add(FieldTenant, "is required for Microsoft: the Directory (tenant) ID from the app registration's Overview page, a verified domain, or 'organizations' / 'common' for multi-tenant apps")
		case !ValidTenant(c.Tenant):
			errs.Add(FieldTenant, fmt.Sprintf("%q is neither a GUID like 72f988bf-86f1-41af-91ab-2d7cd011db47, a domain like contoso.com, nor common/organizations/consumers", c.Tenant))
		}
	}
	if strings.TrimSpace(c.ClientID) == "" {
		errs.Add(FieldClientID, "is required: the Application (client) ID of the app registration")
	} else if strings.ContainsAny(c.ClientID, " \t\r\n") {
		errs.Add(FieldClientID, "must not contain spaces")
	}
	if c.Type == Generic {
		if c.AuthURL == "" {
			errs.Add(FieldAuthURL, "is required for other providers")
		}
		if c.TokenURL == "" {
			errs.Add(FieldTokenURL, "is required for other providers")
		}
	}
	for _, f := range []struct{ field, v string }{
		{FieldAuthURL, c.AuthURL}, {FieldTokenURL, c.TokenURL},
		{FieldDeviceURL, c.DeviceURL}, {FieldRevokeURL, c.RevokeURL},
		{FieldUserinfoURL, c.UserinfoURL},
	} {
		if f.v == "" {
			continue
		}
		if msg := checkURL(f.v); msg != "" {
			errs.Add(f.field, msg)
		}
	}
	if msg := c.validateCloud(); msg != "" {
		errs.Add(FieldCloud, msg)
	}
	if !c.ClientKey.IsZero() && (c.Type == Microsoft || c.Type == Google) {
		if _, err := c.ClientKeyInfo(); err != nil {
			errs.Add(FieldClientKey, KeyProblem(err))
		}
	}
	if c.Issuer != "" {
		if msg := checkIssuer(c.Issuer); msg != "" {
			errs.Add(FieldIssuer, msg)
		}
	}
	if c.ClientAuth != "" && !slices.Contains(ClientAuthMethods, c.ClientAuth) {
		errs.Add(FieldClientAuth, fmt.Sprintf("%q is not a client authentication method: choose %s", c.ClientAuth, strings.Join(ClientAuthMethods, ", ")))
	}
	if _, msg := parseAuthParams(c.AuthParams); msg != "" {
		errs.Add(FieldAuthParams, msg)
	}
	for _, s := range splitScope(c.Scope) {
		if strings.ContainsAny(s, "\"'<>\\") {
			errs.Add(FieldScope, fmt.Sprintf("%q is not a scope", s))
			break
		}
	}
	if mixed := MixedResources(c.Scope); c.Type == Microsoft && mixed != nil {
		errs.Add(FieldScope, fmt.Sprintf("names scopes of %s: a Microsoft token is for one resource at a time — keep Exchange's (IMAP, POP, SMTP) on one token and Graph's on another, and give each task the token for its protocol", strings.Join(mixed, " and ")))
	}
	return errs.Err()
}

// checkURL returns why u cannot be a provider endpoint, or "". The check
// is strict because an endpoint's origin goes into the pages'
// Content-Security-Policy: "https://x.example;sandbox/auth" or
// "https://*/auth" must not reach it.
func checkURL(u string) string {
	p, msg := parseEndpoint(u)
	if msg != "" {
		return msg
	}
	if p.Scheme == "http" && !isLoopback(p.Hostname()) {
		return fmt.Sprintf("%q must use https (plain http is only allowed to this machine)", u)
	}
	return ""
}

// Origin is the scheme://host[:port] of an endpoint URL in lower case, for
// the pages' Content-Security-Policy, or "" when u is not a URL checkURL
// accepts.
func Origin(u string) string {
	p, msg := parseEndpoint(u)
	if msg != "" {
		return ""
	}
	return p.Scheme + "://" + strings.ToLower(p.Host)
}

// hostLabelRE is one label of a DNS name.
var hostLabelRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// parseEndpoint parses an absolute http(s) URL with a DNS name or an IP
// address for host, an optional numeric port, no user, no fragment, and no
// character that needs quoting.
func parseEndpoint(u string) (*url.URL, string) {
	bad := fmt.Sprintf("%q is not an absolute http(s) URL", u)
	for _, r := range u {
		if r <= ' ' || r >= 0x7f || strings.ContainsRune("\"<>\\`{}|^", r) {
			return nil, fmt.Sprintf("%q is not a URL: write it without spaces, quotes or control characters", u)
		}
	}
	p, err := url.Parse(u)
	if err != nil || p.Opaque != "" || (p.Scheme != "https" && p.Scheme != "http") {
		return nil, bad
	}
	p.Scheme = strings.ToLower(p.Scheme)
	if p.User != nil {
		return nil, "must not contain a user name or password"
	}
	if p.Fragment != "" || strings.Contains(u, "#") {
		return nil, fmt.Sprintf("%q must not have a #fragment", u)
	}
	if port := p.Port(); port != "" {
		if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Sprintf("%q has no valid port", u)
		}
	}
	host := p.Hostname()
	if host == "" {
		return nil, bad
	}
	if net.ParseIP(host) == nil {
		for _, label := range strings.Split(strings.TrimSuffix(host, "."), ".") {
			if !hostLabelRE.MatchString(label) {
				return nil, fmt.Sprintf("%q has no valid host name", u)
			}
		}
	}
	return p, ""
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasPrefix(host, "127.")
}
