package idp

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/sandbox/testcert"
)

// signTest signs a JWT the way a client would, with alg RS256 or PS256
// (anything else is signed RS256 and labelled as asked).
func signTest(t *testing.T, key *rsa.PrivateKey, header, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(header)
	c, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(c)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	var err error
	if header["alg"] == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

func sharedCert(t *testing.T, cn string) *testcert.Client {
	t.Helper()
	c, err := testcert.SharedClient(cn)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Microsoft's certificate credentials: the assertion is checked for its
// key (registered on the app, by thumbprint, not expired), signature,
// issuer and subject, audience and time, each refusal with its AADSTS code.
func TestMSClientAssertion(t *testing.T) {
	s, clk := newWorld(t)
	cert := sharedCert(t, "Mail Daemon")
	s.AddCertificate(msDaemonID, cert.Cert)
	old, err := testcert.NewClient("Mail Daemon 2021", epoch.AddDate(-5, 0, 0), epoch.AddDate(-4, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	s.AddCertificate(msDaemonID, old.Cert)
	other := sharedCert(t, "not registered")
	endpoint := msTokenURL(s, contosoID)

	s256 := func(c *testcert.Client) string {
		sum := sha256.Sum256(c.Cert.Raw)
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	sha1Of := func(c *testcert.Client) string {
		sum := sha1.Sum(c.Cert.Raw)
		return base64.RawURLEncoding.EncodeToString(sum[:])
	}
	assertion := func(c *testcert.Client, edit func(h, cl map[string]any)) string {
		now := clk.Now()
		h := map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": s256(c)}
		cl := map[string]any{"aud": endpoint, "iss": msDaemonID, "sub": msDaemonID, "jti": newUUID(),
			"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(10 * time.Minute).Unix()}
		if edit != nil {
			edit(h, cl)
		}
		return signTest(t, c.Key, h, cl)
	}
	form := func(a string) url.Values {
		return url.Values{"grant_type": {"client_credentials"}, "client_id": {msDaemonID}, "scope": {exoDefault},
			"client_assertion_type": {clientAssertionType}, "client_assertion": {a}}
	}

	if r := post(t, endpoint, form(assertion(cert, nil))); r.status != 200 || r.str("access_token") == "" {
		t.Fatalf("PS256 with x5t#S256: HTTP %d %s", r.status, r.raw)
	}
	rs256 := assertion(cert, func(h, _ map[string]any) { h["alg"] = "RS256"; delete(h, "x5t#S256"); h["x5t"] = sha1Of(cert) })
	if r := post(t, endpoint, form(rs256)); r.status != 200 {
		t.Fatalf("RS256 with x5t (the older format): HTTP %d %s", r.status, r.raw)
	}

	for _, tc := range []struct {
		name string
		form url.Values
		code int
		want string
	}{
		{"unregistered certificate", form(assertion(other, nil)), 700027, "The key was not found"},
		{"registered certificate expired", form(assertion(old, nil)), 700027, "The key used is expired"},
		{"signed with another key", form(assertionWithKey(t, cert, other, endpoint, clk.Now())), 700027, "did not match"},
		{"audience", form(assertion(cert, func(_, c map[string]any) { c["aud"] = "https://login.microsoftonline.com/common/oauth2/v2.0/token" })), 700023, "audience"},
		{"issuer", form(assertion(cert, func(_, c map[string]any) { c["iss"] = msWebID })), 700021, "application identifier"},
		{"expired", form(assertion(cert, func(_, c map[string]any) {
			c["nbf"], c["exp"] = clk.Now().Add(-time.Hour).Unix(), clk.Now().Add(-30*time.Minute).Unix()
		})), 700024, "not within its valid time range"},
		{"algorithm", form(assertion(cert, func(h, _ map[string]any) { h["alg"] = "HS256" })), 5002738, "not a supported signature algorithm"},
		{"garbage", form("not.a-jwt"), 50027, "malformed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := post(t, endpoint, tc.form)
			checkMSError(t, r, 401, "invalid_client", tc.code)
			if !strings.Contains(r.str("error_description"), tc.want) {
				t.Errorf("description %q lacks %q", r.str("error_description"), tc.want)
			}
		})
	}

	both := form(assertion(cert, nil))
	both.Set("client_secret", msSecret)
	checkMSError(t, post(t, endpoint, both), 401, "invalid_client", 90014)
}

// assertionWithKey is a well-formed assertion naming cert's thumbprint but
// signed with another key.
func assertionWithKey(t *testing.T, cert, signer *testcert.Client, aud string, now time.Time) string {
	sum := sha256.Sum256(cert.Cert.Raw)
	return signTest(t, signer.Key, map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": base64.RawURLEncoding.EncodeToString(sum[:])},
		map[string]any{"aud": aud, "iss": msDaemonID, "sub": msDaemonID, "nbf": now.Unix(), "exp": now.Add(5 * time.Minute).Unix()})
}

// Google's JWT bearer grant for a service account with domain-wide
// delegation: a token for the mailbox in "sub", no refresh token; refusals
// as Google words them.
func TestGoogleServiceAccountGrant(t *testing.T) {
	s, clk := newWorld(t)
	key := sharedCert(t, "service account")
	other := sharedCert(t, "not registered")
	const sa = "workers@project.iam.gserviceaccount.example"
	s.AddServiceAccount(ServiceAccount{Email: sa, ClientID: "1047", KeyID: "k1", Key: &key.Key.PublicKey,
		Delegation: map[string][]string{"gmail.example": {gmailScope}}})
	endpoint := s.URL() + "/google/token"
	grant := func(signer *testcert.Client, edit func(c map[string]any)) reply {
		now := clk.Now()
		c := map[string]any{"iss": sa, "sub": carol, "scope": gmailScope, "aud": endpoint,
			"iat": now.Unix(), "exp": now.Add(time.Hour).Unix()}
		if edit != nil {
			edit(c)
		}
		return post(t, endpoint, url.Values{"grant_type": {grantJWTBearer},
			"assertion": {signTest(t, signer.Key, map[string]any{"alg": "RS256", "typ": "JWT", "kid": "k1"}, c)}})
	}

	r := grant(key, nil)
	if r.status != 200 || r.str("access_token") == "" || r.body["refresh_token"] != nil || r.str("token_type") != "Bearer" {
		t.Fatalf("grant: HTTP %d %s", r.status, r.raw)
	}
	if in := s.Introspect(r.str("access_token")); !in.Active || in.Username != carol || in.Scope != gmailScope {
		t.Fatalf("introspection: %+v", in)
	}

	checkGoogleError(t, grant(other, nil), 400, "invalid_grant", "Invalid JWT Signature.")
	checkGoogleError(t, grant(key, func(c map[string]any) { c["sub"] = "nobody@gmail.example" }), 400, "invalid_grant", "Invalid email or User ID")
	checkGoogleError(t, grant(key, func(c map[string]any) { c["exp"] = clk.Now().Add(2 * time.Hour).Unix() }), 400, "invalid_grant",
		"Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	if r := grant(key, func(c map[string]any) { c["aud"] = "https://oauth2.googleapis.com/token" }); r.str("error") != "invalid_grant" {
		t.Errorf("wrong audience: %s", r.raw)
	}
	s.RevokeDelegation(sa, "gmail.example")
	checkGoogleError(t, grant(key, nil), 401, "unauthorized_client",
		"Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
}
