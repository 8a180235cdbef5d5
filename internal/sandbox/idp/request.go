package idp

import (
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// maxFormBytes bounds request bodies; real token requests are a few KB.
const maxFormBytes = 1 << 20

// parseForm reads a form body of bounded size.
func parseForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	return r.ParseForm()
}

// clientAuth is how a token request identified its client.
type clientAuth struct {
	id, secret string
	secretSent bool
	// A client assertion (private_key_jwt) instead of a secret.
	assertionType, assertion string
}

// assertionSent says whether the client authenticates with a client
// assertion.
func (ca clientAuth) assertionSent() bool { return ca.assertionType != "" || ca.assertion != "" }

// readClientAuth takes client_id and client_secret from the form body or
// from HTTP Basic (RFC 6749 section 2.3.1), both of which Microsoft and
// Google accept. Basic credentials are form-encoded before base64, as
// x/oauth2 sends them. It reports false when the two places disagree.
func readClientAuth(r *http.Request) (clientAuth, bool) {
	id := r.PostForm.Get("client_id")
	secret := r.PostForm.Get("client_secret")
	if user, pass, ok := r.BasicAuth(); ok {
		user, pass = formUnescape(user), formUnescape(pass)
		if (id != "" && id != user) || (secret != "" && secret != pass) {
			return clientAuth{}, false
		}
		id, secret = user, pass
	}
	return clientAuth{id: id, secret: secret, secretSent: secret != "",
		assertionType: r.PostForm.Get("client_assertion_type"), assertion: r.PostForm.Get("client_assertion")}, true
}

func formUnescape(s string) string {
	if u, err := url.QueryUnescape(s); err == nil {
		return u
	}
	return s
}

// redirectURIAllowed reports whether uri is registered on the app. Both
// providers compare exactly, except that a registered http loopback URI
// (localhost, 127.0.0.1, [::1]) matches any port, because native apps and
// local tools listen on whatever port is free.
func redirectURIAllowed(registered []string, uri string) bool {
	if slices.Contains(registered, uri) {
		return true
	}
	got, err := url.Parse(uri)
	if err != nil || got.Scheme != "http" || !isLoopbackHost(got.Hostname()) {
		return false
	}
	for _, reg := range registered {
		ru, err := url.Parse(reg)
		if err != nil || ru.Scheme != "http" || !isLoopbackHost(ru.Hostname()) {
			continue
		}
		if ru.Hostname() == got.Hostname() && ru.Path == got.Path && ru.RawQuery == got.RawQuery {
			return true
		}
	}
	return false
}

func isLoopbackHost(h string) bool {
	return h == "localhost" || h == "127.0.0.1" || h == "::1"
}

// withQuery appends parameters to a redirect URI, keeping any query it
// already has.
func withQuery(base string, params url.Values) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for k, vs := range params {
		for _, v := range vs {
			q.Add(k, v)
		}
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// pkceValid checks an RFC 7636 code_verifier against the stored challenge.
// Both providers default the method to "plain" when only a challenge was
// sent.
func pkceValid(challenge, method, verifier string) bool {
	switch method {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		return constantTimeEqual(base64.RawURLEncoding.EncodeToString(sum[:]), challenge)
	case "plain", "":
		return constantTimeEqual(verifier, challenge)
	}
	return false
}

// validChallengeMethod reports whether an authorize request's
// code_challenge_method is one the providers accept.
func validChallengeMethod(m string) bool { return m == "" || m == "S256" || m == "plain" }

// promptHas reports whether a space-separated prompt parameter contains v.
func promptHas(prompt, v string) bool { return slices.Contains(strings.Fields(prompt), v) }

// normalizeUserCode makes "gqvq-jkec", "GQVQ JKEC" and "GQVQJKEC" the same
// code, as both providers' code pages do.
func normalizeUserCode(s string) string {
	var sb strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r == '-' || r == ' ' || r == '\t' {
			continue
		}
		sb.WriteRune(r)
	}
	return sb.String()
}
