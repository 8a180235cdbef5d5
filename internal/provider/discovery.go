package provider

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"mailtokens/internal/advice"
)

// Discovery: a standards server publishes its endpoints and what it
// supports in a JSON document at a well-known address derived from its
// issuer identifier:
//
//   - OpenID Connect Discovery 1.0 §4: {issuer}/.well-known/openid-configuration
//   - RFC 8414 §3: the well-known path inserted between host and path,
//     https://host/.well-known/oauth-authorization-server/{path}
//     (https://host/.well-known/oauth-authorization-server for an issuer
//     without a path)
//
// Discover tries them in that order (the OIDC document also names the
// userinfo endpoint) and takes the first good one. The document's issuer
// must be the issuer asked for (RFC 8414 §3.3, OIDC Discovery §4.3), or
// nothing in it is used: anyone who can serve a document under a path
// could otherwise point our client secret at their own token endpoint. We
// compare ignoring one trailing slash, since the issuer is typed by a
// person.

// maxDiscoveryBody bounds what is read of a discovery or userinfo answer
// (Keycloak's document, among the largest, is under 10 KiB).
const maxDiscoveryBody = 64 << 10

// maxDiscoveryTries bounds the issuers tried along the authorization URL's
// path when no issuer is known (Keycloak's
// /realms/x/protocol/openid-connect/auth needs three).
const maxDiscoveryTries = 5

// The well-known suffixes.
const (
	oidcWellKnown    = "/.well-known/openid-configuration"
	rfc8414WellKnown = "/.well-known/oauth-authorization-server"
)

// Discovery is what a server's metadata document says, checked: every URL
// in it is one checkURL accepts (a bad optional one is left out and
// named in Notes).
type Discovery struct {
	Issuer string
	Source string // the document's URL

	AuthURL, TokenURL, DeviceURL, RevokeURL, UserinfoURL string

	AuthMethods          []string // token_endpoint_auth_methods_supported
	CodeChallengeMethods []string // code_challenge_methods_supported
	Scopes               []string // scopes_supported

	// Notes are what the admin should know about the document, in
	// sentences: endpoints left out, no S256 PKCE, no method we can use.
	Notes []string
}

// OffersOfflineAccess reports whether the server lists offline_access
// among its scopes.
func (d *Discovery) OffersOfflineAccess() bool { return slices.Contains(d.Scopes, OfflineAccess) }

// Apply fills c from the document: the issuer and every endpoint (one the
// server does not publish is cleared), the client authentication method
// for a client with or without a secret (ChooseClientAuth; kept as it was
// when the server lists none we can use), and offline_access added to the
// scope when the server lists it, so that a refresh token comes back
// (with prompt=consent, which StartAuth then sends).
func (d *Discovery) Apply(c *Config, hasSecret bool) {
	c.Issuer = d.Issuer
	c.AuthURL, c.TokenURL, c.DeviceURL, c.RevokeURL, c.UserinfoURL = d.AuthURL, d.TokenURL, d.DeviceURL, d.RevokeURL, d.UserinfoURL
	if m := ChooseClientAuth(d.AuthMethods, hasSecret); m != "" {
		c.ClientAuth = m
	}
	if d.OffersOfflineAccess() && !slices.Contains(splitScope(c.Scope), OfflineAccess) {
		c.Scope = strings.TrimSpace(c.Scope + " " + OfflineAccess)
	}
}

// discoveryDoc is the metadata document as sent (RFC 8414 §2, OIDC
// Discovery §3).
type discoveryDoc struct {
	Issuer                 string   `json:"issuer"`
	AuthorizationEndpoint  string   `json:"authorization_endpoint"`
	TokenEndpoint          string   `json:"token_endpoint"`
	DeviceEndpoint         string   `json:"device_authorization_endpoint"`
	RevocationEndpoint     string   `json:"revocation_endpoint"`
	UserinfoEndpoint       string   `json:"userinfo_endpoint"`
	TokenAuthMethods       []string `json:"token_endpoint_auth_methods_supported"`
	CodeChallengeMethods   []string `json:"code_challenge_methods_supported"`
	ScopesSupported        []string `json:"scopes_supported"`
	GrantTypesSupported    []string `json:"grant_types_supported"`
	ResponseTypesSupported []string `json:"response_types_supported"`
}

// ErrNotDiscovery means a document is not usable metadata: not a JSON
// object, or without the issuer or the endpoints a sign-in needs.
var ErrNotDiscovery = errors.New("not an OAuth2 or OpenID Connect discovery document")

// ParseDiscovery reads a metadata document. It does not compare the
// issuer with the one asked for: Discover does.
func ParseDiscovery(body []byte) (*Discovery, error) {
	var doc discoveryDoc
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNotDiscovery, err)
	}
	if doc.Issuer == "" {
		return nil, fmt.Errorf("%w: it has no issuer", ErrNotDiscovery)
	}
	if msg := checkIssuer(doc.Issuer); msg != "" {
		return nil, fmt.Errorf("%w: issuer %s", ErrNotDiscovery, msg)
	}
	d := &Discovery{Issuer: doc.Issuer}
	for _, f := range []struct {
		name, v string
		dst     *string
	}{
		{"authorization_endpoint", doc.AuthorizationEndpoint, &d.AuthURL},
		{"token_endpoint", doc.TokenEndpoint, &d.TokenURL},
	} {
		if f.v == "" {
			return nil, fmt.Errorf("%w: it has no %s", ErrNotDiscovery, f.name)
		}
		if msg := checkURL(f.v); msg != "" {
			return nil, fmt.Errorf("%w: %s %s", ErrNotDiscovery, f.name, msg)
		}
		*f.dst = f.v
	}
	for _, f := range []struct {
		name, v string
		dst     *string
	}{
		{"device_authorization_endpoint", doc.DeviceEndpoint, &d.DeviceURL},
		{"revocation_endpoint", doc.RevocationEndpoint, &d.RevokeURL},
		{"userinfo_endpoint", doc.UserinfoEndpoint, &d.UserinfoURL},
	} {
		if f.v == "" {
			continue
		}
		if msg := checkURL(f.v); msg != "" {
			d.Notes = append(d.Notes, fmt.Sprintf("The %s was left out: %s.", f.name, msg))
			continue
		}
		*f.dst = f.v
	}
	d.AuthMethods = words(doc.TokenAuthMethods)
	d.CodeChallengeMethods = words(doc.CodeChallengeMethods)
	d.Scopes = words(doc.ScopesSupported)
	if len(d.CodeChallengeMethods) > 0 && !slices.Contains(d.CodeChallengeMethods, "S256") {
		d.Notes = append(d.Notes, "The server does not list S256 among its code_challenge_methods_supported; the sign-in sends an S256 PKCE challenge anyway, and a server that ignores it still works.")
	}
	if len(d.AuthMethods) > 0 && ChooseClientAuth(d.AuthMethods, true) == "" {
		d.Notes = append(d.Notes, fmt.Sprintf("The server lists no client authentication with a secret (it lists %s): choose the method your client is registered for.", strings.Join(d.AuthMethods, ", ")))
	}
	return d, nil
}

// words keeps the entries of a supported-values list that can be values:
// non-empty, without blanks or control characters, at most 100 of them.
func words(in []string) []string {
	var out []string
	for _, w := range in {
		if w == "" || len(w) > 200 || CheckTokenText(w) != nil || len(out) == 100 {
			continue
		}
		out = append(out, w)
	}
	return out
}

// checkIssuer returns why u cannot be an issuer identifier (RFC 8414 §2:
// an https URL without query or fragment; plain http only on loopback as
// for every endpoint), or "".
func checkIssuer(u string) string {
	if msg := checkURL(u); msg != "" {
		return msg
	}
	if strings.Contains(u, "?") {
		return fmt.Sprintf("%q must not have a ?query", u)
	}
	return ""
}

// DiscoveryAttempt is one document asked for.
type DiscoveryAttempt struct {
	URL    string
	Status int   // the HTTP status; 0 when no answer came
	Err    error // why the answer was not used
}

// DiscoveryError is a discovery that found no usable document, with
// every address tried and why each failed.
type DiscoveryError struct {
	Issuer   string
	Attempts []DiscoveryAttempt
}

func (e *DiscoveryError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "discovery for issuer %s failed", e.Issuer)
	for i, a := range e.Attempts {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s: %v", a.URL, a.Err)
	}
	return b.String()
}

// Unwrap gives the attempts' errors, so errors.As finds an
// *IssuerMismatchError or a network error among them.
func (e *DiscoveryError) Unwrap() []error {
	var out []error
	for _, a := range e.Attempts {
		out = append(out, a.Err)
	}
	return out
}

// Advice says what to do: for a wrong issuer, which one the server names;
// otherwise check the issuer URL or enter the endpoints by hand.
// Temporary when some address could not be reached or answered 5xx.
func (e *DiscoveryError) Advice() (string, advice.Kind) {
	var mm *IssuerMismatchError
	if errors.As(e, &mm) {
		return mm.advice(), advice.Misconfigured
	}
	kind := advice.Misconfigured
	var urls []string
	for _, a := range e.Attempts {
		urls = append(urls, a.URL)
		if a.Status >= 500 || a.Status == http.StatusTooManyRequests || (a.Status == 0 && isNetwork(a.Err)) {
			kind = advice.Temporary
		}
	}
	return fmt.Sprintf("No discovery document was found for the issuer %s (tried %s): check the Issuer URL (the provider's documentation names it; it is often the address before /.well-known/openid-configuration), or enter the endpoints by hand.",
		e.Issuer, strings.Join(urls, " and ")), kind
}

func isNetwork(err error) bool {
	_, k := advice.Of(err)
	return k == advice.Temporary
}

// IssuerMismatchError is a document whose issuer is not the one asked
// for (RFC 8414 §3.3): nothing in it is used.
type IssuerMismatchError struct {
	URL, Want, Got string
}

func (e *IssuerMismatchError) Error() string {
	return fmt.Sprintf("the document names the issuer %q, not %q", e.Got, e.Want)
}

func (e *IssuerMismatchError) advice() string {
	return fmt.Sprintf("The discovery document at %s names the issuer %s, not %s, so it was not used (RFC 8414 §3.3): if %s is the provider you mean, enter that as the Issuer URL.",
		e.URL, e.Got, e.Want, e.Got)
}

// Advice makes the mismatch explain itself when found alone.
func (e *IssuerMismatchError) Advice() (string, advice.Kind) {
	return e.advice(), advice.Misconfigured
}

// sameIssuer compares issuers as typed and as published, ignoring one
// trailing slash.
func sameIssuer(a, b string) bool {
	return strings.TrimSuffix(a, "/") == strings.TrimSuffix(b, "/")
}

// discoveryURLs are the documents to try for issuer, and the issuer they
// must name. An issuer typed as a document's own URL
// (…/.well-known/openid-configuration, or the RFC 8414 form) is fetched
// as it is.
func discoveryURLs(issuer string) (urls []string, want string, err error) {
	if msg := checkIssuer(issuer); msg != "" {
		return nil, "", fmt.Errorf("the issuer %s", msg)
	}
	u, _ := url.Parse(issuer) // checkIssuer parsed it
	origin := u.Scheme + "://" + u.Host
	switch {
	case strings.HasSuffix(u.Path, oidcWellKnown):
		return []string{issuer}, origin + strings.TrimSuffix(u.Path, oidcWellKnown), nil
	case strings.HasPrefix(u.Path, rfc8414WellKnown):
		return []string{issuer}, origin + strings.TrimPrefix(u.Path, rfc8414WellKnown), nil
	}
	path := strings.TrimSuffix(u.Path, "/")
	return []string{origin + path + oidcWellKnown, origin + rfc8414WellKnown + path}, origin + path, nil
}

// Discover reads the metadata of the server whose issuer identifier is
// issuer (see above), with the config's HTTP client (its timeouts; no
// redirects followed). It returns a *DiscoveryError naming every address
// tried when none gave a usable document for that issuer.
func (c Config) Discover(ctx context.Context, issuer string) (*Discovery, error) {
	issuer = strings.TrimSpace(issuer)
	urls, want, err := discoveryURLs(issuer)
	if err != nil {
		return nil, &DiscoveryError{Issuer: issuer, Attempts: []DiscoveryAttempt{{URL: issuer, Err: err}}}
	}
	e := &DiscoveryError{Issuer: want}
	for _, u := range urls {
		d, a := c.fetchDiscovery(ctx, u, want)
		if d != nil {
			return d, nil
		}
		e.Attempts = append(e.Attempts, a)
		var mm *IssuerMismatchError
		if errors.As(a.Err, &mm) {
			break // the server said who it is; another address will not change that
		}
	}
	return nil, e
}

// fetchDiscovery GETs one metadata document and checks that it names the
// issuer want ("" takes any).
func (c Config) fetchDiscovery(ctx context.Context, docURL, want string) (*Discovery, DiscoveryAttempt) {
	a := DiscoveryAttempt{URL: docURL}
	body, status, err := c.get(ctx, docURL, "")
	a.Status = status
	if err != nil {
		a.Err = err
		return nil, a
	}
	d, err := ParseDiscovery(body)
	if err != nil {
		a.Err = err
		return nil, a
	}
	if want != "" && !sameIssuer(d.Issuer, want) {
		a.Err = &IssuerMismatchError{URL: docURL, Want: want, Got: d.Issuer}
		return nil, a
	}
	d.Source = docURL
	return d, a
}

// errTooLarge is an answer longer than maxDiscoveryBody.
var errTooLarge = fmt.Errorf("the answer is larger than %d KiB", maxDiscoveryBody>>10)

// get GETs target as JSON (with bearer, when set) and returns a 200
// answer's body, at most maxDiscoveryBody bytes; anything else is an
// error saying what came instead.
func (c Config) get(ctx context.Context, target, bearer string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, 0, err
	}
	req.Header.Set("Accept", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, resp.StatusCode, fmt.Errorf("HTTP %d, a redirect to %q (not followed)", resp.StatusCode, truncate(resp.Header.Get("Location"), 200))
	case resp.StatusCode != http.StatusOK:
		return nil, resp.StatusCode, fmt.Errorf("HTTP %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxDiscoveryBody+1))
	if err != nil {
		return nil, resp.StatusCode, err
	}
	if len(body) > maxDiscoveryBody {
		return nil, resp.StatusCode, errTooLarge
	}
	return body, resp.StatusCode, nil
}

// userinfoURL finds the userinfo endpoint to ask who signed in: the one
// stored (from discovery), else the one the stored issuer's document
// names, else — for tokens set up before discovery — the one of the
// issuer found by walking up the authorization URL's path, longest first.
// A document found without a stored endpoint counts only when it lists
// our authorization or token endpoint, so the access token never goes to
// a server that is not the one that issued it.
func (c Config) userinfoURL(ctx context.Context) string {
	if c.UserinfoURL != "" {
		return c.UserinfoURL
	}
	e := c.Endpoints()
	ours := func(d *Discovery) bool { return d.AuthURL == e.Auth || d.TokenURL == e.Token }
	if c.Issuer != "" {
		if d, err := c.Discover(ctx, c.Issuer); err == nil && ours(d) {
			return d.UserinfoURL
		}
		return ""
	}
	u, err := url.Parse(e.Auth)
	if err != nil || checkURL(e.Auth) != "" {
		return ""
	}
	path := strings.TrimSuffix(u.Path, "/")
	for range maxDiscoveryTries {
		i := strings.LastIndex(path, "/")
		if i < 0 {
			break
		}
		path = path[:i]
		issuer := u.Scheme + "://" + u.Host + path
		d, _ := c.fetchDiscovery(ctx, issuer+oidcWellKnown, issuer)
		if d == nil || !ours(d) {
			continue
		}
		return d.UserinfoURL
	}
	return ""
}
