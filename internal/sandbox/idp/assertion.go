package idp

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"mailtokens/internal/provider"
)

// Signed JWTs the clients present: Microsoft's client assertions
// (certificate credentials, private_key_jwt) and Google's service account
// grants (RFC 7523). Both are checked as the real services check them,
// refusing with their codes and words.

const (
	clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	grantJWTBearer      = "urn:ietf:params:oauth:grant-type:jwt-bearer"
)

// jwt is a compact JWS taken apart; nothing in it is trusted before
// verify.
type jwt struct {
	header  map[string]any
	claims  map[string]any
	input   string // header.payload, what was signed
	sig     []byte
	malform bool
}

func parseJWT(s string) jwt {
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return jwt{malform: true}
	}
	var j jwt
	h, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	p, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(h, &j.header) != nil || json.Unmarshal(p, &j.claims) != nil {
		return jwt{malform: true}
	}
	j.input, j.sig = parts[0]+"."+parts[1], sig
	return j
}

func (j jwt) str(m map[string]any, k string) string {
	v, _ := m[k].(string)
	return v
}

// time reads a NumericDate claim; ok is false when it is missing.
func (j jwt) time(k string) (time.Time, bool) {
	v, ok := j.claims[k].(float64)
	if !ok {
		return time.Time{}, false
	}
	return time.Unix(int64(v), 0), true
}

// verify checks the signature with pub for RS256 or PS256.
func (j jwt) verify(pub *rsa.PublicKey) bool {
	sum := sha256.Sum256([]byte(j.input))
	switch j.str(j.header, "alg") {
	case "RS256":
		return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], j.sig) == nil
	case "PS256":
		return rsa.VerifyPSS(pub, crypto.SHA256, sum[:], j.sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash}) == nil
	}
	return false
}

// tokenEndpoint is the URL a request reached, as its JWT's "aud" must name it.
func (s *Server) tokenEndpoint(r *http.Request) string { return s.baseURL(r) + r.URL.Path }

// --- Microsoft: certificate credentials ------------------------------------

// AddCertificate registers a certificate on a Microsoft app (Certificates &
// secrets > Certificates > Upload certificate).
func (s *Server) AddCertificate(clientID string, cert *x509.Certificate) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.apps[clientID]; a != nil {
		a.Certificates = append(a.Certificates, cert)
	}
}

// msCheckAssertionLocked authenticates a client by its client assertion,
// as Microsoft does: a JWT signed with the key of a certificate registered
// on the app, found by its x5t#S256 (or the older x5t, SHA-1) header; iss
// and sub the client ID; aud this token endpoint; within nbf and exp.
func (s *Server) msCheckAssertionLocked(r *http.Request, a *app, ca clientAuth) *oauthError {
	if ca.assertionType != clientAssertionType {
		return msErrorf(400, "invalid_request", 50027, "Invalid client_assertion_type '%s'. Expected '%s'.", ca.assertionType, clientAssertionType)
	}
	if ca.secretSent {
		return msErrorf(401, "invalid_client", 90014, "The request must contain either a 'client_secret' or a 'client_assertion', not both.")
	}
	j := parseJWT(ca.assertion)
	if j.malform {
		return msErrorf(401, "invalid_client", 50027, "JWT token is invalid or malformed.")
	}
	if alg := j.str(j.header, "alg"); alg != "RS256" && alg != "PS256" {
		return msErrorf(401, "invalid_client", 5002738, "Invalid JWT token. '%s' is not a supported signature algorithm. Supported signing algorithms are: 'RS256,PS256'", alg)
	}
	if j.str(j.claims, "iss") != a.ClientID || j.str(j.claims, "sub") != a.ClientID {
		return msErrorf(401, "invalid_client", 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
	}
	if aud := j.str(j.claims, "aud"); aud != s.tokenEndpoint(r) {
		return msErrorf(401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .")
	}
	now := s.clock.Now()
	exp, hasExp := j.time("exp")
	nbf, hasNbf := j.time("nbf")
	if !hasNbf {
		nbf = exp.Add(-time.Hour)
	}
	// Microsoft allows five minutes of clock skew.
	const skew = 5 * time.Minute
	if !hasExp || now.After(exp.Add(skew)) || now.Before(nbf.Add(-skew)) {
		return msErrorf(401, "invalid_client", 700024, "Client assertion is not within its valid time range. Current time: %s, assertion valid from %s, expiry time of assertion %s. Review the documentation at https://docs.microsoft.com/en-us/azure/active-directory/develop/active-directory-certificate-credentials .",
			msLongTime(now), msLongTime(nbf), msLongTime(exp))
	}
	cert, thumb := a.certificateFor(j)
	if cert == nil {
		return msErrorf(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '%s', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployment-endpoints to find the appropriate Graph Explorer endpoint for your cloud.]", thumb, a.ClientID)
	}
	found := "Found key 'Start=" + cert.NotBefore.UTC().Format("01/02/2006 15:04:05") + ", End=" + cert.NotAfter.UTC().Format("01/02/2006 15:04:05") + "'"
	if now.After(cert.NotAfter) {
		return msErrorf(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The key used is expired., Thumbprint of key used by client: '%s', %s]", thumb, found)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok || !j.verify(pub) {
		return msErrorf(401, "invalid_client", 700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value., Thumbprint of key used by client: '%s', %s]", thumb, found)
	}
	return nil
}

// certificateFor finds the registered certificate an assertion's header
// names, and the thumbprint it named (hex, as Microsoft quotes it).
func (a *app) certificateFor(j jwt) (*x509.Certificate, string) {
	s256, _ := base64.RawURLEncoding.DecodeString(j.str(j.header, "x5t#S256"))
	s1, _ := base64.RawURLEncoding.DecodeString(j.str(j.header, "x5t"))
	thumb := strings.ToUpper(hex.EncodeToString(s1))
	if len(s256) > 0 {
		thumb = strings.ToUpper(hex.EncodeToString(s256))
	}
	for _, c := range a.Certificates {
		sum256, sum1 := sha256.Sum256(c.Raw), sha1.Sum(c.Raw)
		if (len(s256) > 0 && constantTimeEqual(string(s256), string(sum256[:]))) ||
			(len(s256) == 0 && len(s1) > 0 && constantTimeEqual(string(s1), string(sum1[:]))) {
			return c, thumb
		}
	}
	return nil, thumb
}

// --- Google: service accounts with domain-wide delegation ------------------

// ServiceAccount is a Google service account with a key, and the
// Workspace domains that granted its client ID domain-wide delegation.
type ServiceAccount struct {
	Email    string // name@project.iam.gserviceaccount.com
	ClientID string // the numeric OAuth client ID delegation is granted to
	KeyID    string // private_key_id of its JSON key
	Key      *rsa.PublicKey
	// Delegation maps a Workspace domain to the scopes its admin granted
	// the client ID (Admin console > Security > API controls >
	// Domain-wide delegation).
	Delegation map[string][]string
}

// AddServiceAccount registers (or replaces) a service account.
func (s *Server) AddServiceAccount(sa ServiceAccount) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := sa
	c.Delegation = map[string][]string{}
	for d, sc := range sa.Delegation {
		c.Delegation[strings.ToLower(d)] = append([]string(nil), sc...)
	}
	s.serviceAccounts[strings.ToLower(sa.Email)] = &serviceAccount{ServiceAccount: c,
		app: &app{App: App{Provider: provider.Google, Name: sa.Email, ClientID: sa.ClientID}, servicePrincipal: newUUID()}}
}

// RevokeDelegation withdraws domain's domain-wide delegation from the
// service account.
func (s *Server) RevokeDelegation(email, domain string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sa := s.serviceAccounts[strings.ToLower(email)]; sa != nil {
		delete(sa.Delegation, strings.ToLower(domain))
	}
}

type serviceAccount struct {
	ServiceAccount
	app *app // what its tokens are issued to
}

// serviceAccountTokenResponse is Google's answer to a JWT bearer grant:
// no refresh token, no scope, no ID token.
type serviceAccountTokenResponse struct {
	AccessToken string `json:"access_token"`
	ExpiresIn   int64  `json:"expires_in"`
	TokenType   string `json:"token_type"`
}

// googleJWTBearerLocked is the JWT bearer grant at Google's token
// endpoint: no client authentication, the signed JWT is all.
func (s *Server) googleJWTBearerLocked(r *http.Request) (any, *oauthError) {
	j := parseJWT(r.PostForm.Get("assertion"))
	if j.malform {
		return nil, googleError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	}
	sa := s.serviceAccounts[strings.ToLower(j.str(j.claims, "iss"))]
	if sa == nil {
		return nil, googleError(400, "invalid_grant", "Invalid grant: account not found")
	}
	if j.str(j.header, "alg") != "RS256" || (j.str(j.header, "kid") != "" && j.str(j.header, "kid") != sa.KeyID) || !j.verify(sa.Key) {
		return nil, googleError(400, "invalid_grant", "Invalid JWT Signature.")
	}
	now := s.clock.Now()
	iat, ok1 := j.time("iat")
	exp, ok2 := j.time("exp")
	if !ok1 || !ok2 || exp.Sub(iat) > time.Hour || !now.Before(exp) || iat.After(now.Add(5*time.Minute)) {
		return nil, googleError(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. Check your iat and exp values in the JWT claim.")
	}
	if aud := j.str(j.claims, "aud"); aud != s.tokenEndpoint(r) {
		return nil, googleError(400, "invalid_grant", "Invalid JWT: Failed audience check. The right audience is "+s.tokenEndpoint(r))
	}
	scopes, unknown := parseGoogleScopes(j.str(j.claims, "scope"))
	if len(unknown) > 0 || len(scopes) == 0 {
		return nil, googleError(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.")
	}
	sub := j.str(j.claims, "sub")
	u := s.users[userKey(provider.Google, sub)]
	if sub == "" || u == nil {
		return nil, googleError(400, "invalid_grant", "Invalid email or User ID")
	}
	_, domain, _ := strings.Cut(strings.ToLower(u.Email), "@")
	granted := sa.Delegation[domain]
	for _, want := range scopes {
		if !containsFold(granted, want) {
			return nil, googleError(401, "unauthorized_client", "Client is unauthorized to retrieve access tokens using this method, or client not authorized for any of the scopes requested.")
		}
	}
	g := s.newGrantLocked(provider.Google, sa.app, u, "")
	g.google = scopes
	at := s.issueAccessTokenLocked(g, msScopes{})
	return serviceAccountTokenResponse{AccessToken: at.value, ExpiresIn: expiresIn(at), TokenType: "Bearer"}, nil
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}
