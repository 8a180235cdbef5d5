package provider

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"mailtokens/internal/advice"
)

// Google Workspace service accounts with domain-wide delegation: the app
// signs a JWT with the service account's key, naming the mailbox in "sub",
// and trades it for an access token for that mailbox (RFC 7523 section
// 2.1, the JWT bearer grant). There is no refresh token: a new access
// token is had the same way whenever one is needed.

// JWTBearerGrant is the grant_type of RFC 7523's JWT bearer grant.
const JWTBearerGrant = "urn:ietf:params:oauth:grant-type:jwt-bearer"

// serviceAccountLifetime is the longest a grant JWT may live at Google.
const serviceAccountLifetime = time.Hour

// ServiceAccount is a Google service account's JSON key, as the Cloud
// Console downloads it (IAM > Service accounts > Keys > Add key > JSON).
type ServiceAccount struct {
	Type         string `json:"type"`
	ProjectID    string `json:"project_id"`
	PrivateKeyID string `json:"private_key_id"`
	PrivateKey   string `json:"private_key"`
	ClientEmail  string `json:"client_email"`
	ClientID     string `json:"client_id"`
	TokenURI     string `json:"token_uri"`

	key *rsa.PrivateKey
}

// ParseServiceAccount reads a service account's JSON key and its private
// key.
func ParseServiceAccount(data []byte) (*ServiceAccount, error) {
	var sa ServiceAccount
	if err := json.Unmarshal(data, &sa); err != nil {
		return nil, &KeyError{Problem: "is not a JSON key file: upload the file Google Cloud Console downloads under IAM > Service accounts > Keys > Add key > JSON"}
	}
	switch {
	case sa.Type != "service_account":
		return nil, &KeyError{Problem: "is not a service account's key (its \"type\" is not \"service_account\")"}
	case sa.ClientEmail == "" || !strings.Contains(sa.ClientEmail, "@"):
		return nil, &KeyError{Problem: "has no client_email: download the JSON key of the service account again"}
	case sa.PrivateKey == "":
		return nil, &KeyError{Problem: "has no private_key: download the JSON key of the service account again"}
	}
	if sa.TokenURI != "" {
		if msg := checkURL(sa.TokenURI); msg != "" {
			return nil, &KeyError{Problem: "has a token_uri that " + strings.TrimPrefix(msg, "is ")}
		}
	}
	b, _ := pem.Decode([]byte(sa.PrivateKey))
	if b == nil {
		return nil, &KeyError{Problem: "has a private_key that is not PEM: download the JSON key of the service account again"}
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		if k1, err1 := x509.ParsePKCS1PrivateKey(b.Bytes); err1 == nil {
			k, err = k1, nil
		}
	}
	rk, ok := k.(*rsa.PrivateKey)
	if err != nil || !ok {
		return nil, &KeyError{Problem: "has a private_key that cannot be read: download the JSON key of the service account again"}
	}
	sa.key = rk
	return &sa, nil
}

// serviceAccount reads the config's client key as a service account.
func (c Config) serviceAccount() (*ServiceAccount, error) {
	if c.ClientKey.IsZero() {
		return nil, &KeyError{Problem: "is missing: a Google service account needs its JSON key"}
	}
	return ParseServiceAccount([]byte(c.ClientKey.Reveal()))
}

// ServiceAccountMode reports whether the config gets Google tokens with a
// service account rather than a person's sign-in.
func (c Config) ServiceAccountMode() bool { return c.Type == Google && !c.ClientKey.IsZero() }

// serviceAccountEndpoint is where the grant goes and the JWT's "aud": an
// endpoint the admin set (national setups, the sandbox), else the key's
// token_uri, else Google's.
func (c Config) serviceAccountEndpoint(sa *ServiceAccount) string {
	switch {
	case c.TokenURL != "":
		return c.TokenURL
	case sa.TokenURI != "":
		return sa.TokenURI
	}
	return GoogleTokenURL
}

// ServiceAccountToken gets an access token for the mailbox (c.Email) with
// the service account's key: Workspace must have granted the service
// account's client ID domain-wide delegation for the scope (Admin console
// > Security > API controls > Domain-wide delegation).
func (c Config) ServiceAccountToken(ctx context.Context) (*Token, error) {
	const op = "service account grant"
	sa, err := c.serviceAccount()
	if err != nil {
		return nil, c.keyProblem(op, err)
	}
	if c.Email == "" {
		return nil, &Error{Op: op, Provider: c.Type, Kind: advice.Misconfigured, Code: "invalid_request",
			Description: "the token has no Email Address: a service account acts for the mailbox named there"}
	}
	endpoint := c.serviceAccountEndpoint(sa)
	now := c.now()
	claims := map[string]any{
		"iss": sa.ClientEmail, "sub": c.Email, "scope": strings.Join(c.AppOnlyScopes(), " "),
		"aud": endpoint, "iat": now.Unix(), "exp": now.Add(serviceAccountLifetime).Unix(),
	}
	header := map[string]string{"alg": "RS256", "typ": "JWT", "kid": sa.PrivateKeyID}
	assertion, err := signJWT(sa.key, "RS256", header, claims)
	if err != nil {
		return nil, c.keyProblem(op, &KeyError{Problem: "cannot sign: " + err.Error()})
	}
	// x/oauth2's client credentials request takes another grant_type, and
	// sends no client_id when it has none: the JWT says who asks.
	cc := clientcredentials.Config{
		TokenURL:  endpoint,
		AuthStyle: oauth2.AuthStyleInParams,
		EndpointParams: url.Values{
			"grant_type": {JWTBearerGrant},
			"assertion":  {assertion},
		},
	}
	t, err := cc.Token(context.WithValue(ctx, oauth2.HTTPClient, c.httpClient()))
	if err != nil {
		return nil, c.wrap(op, err)
	}
	return c.fromOAuth2(op, t, "")
}
