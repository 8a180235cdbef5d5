package provider

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"mailtokens/internal/advice"
)

// Certificate credentials (private_key_jwt): instead of a client secret,
// the client proves itself with a JWT it signs with a certificate's private
// key (RFC 7523 section 2.2, OpenID Connect Core section 9). Microsoft
// recommends them over secrets; its current format is a PS256 signature
// and the certificate's SHA-256 thumbprint in the "x5t#S256" header
// (learn.microsoft.com, "Microsoft identity platform application
// authentication certificate credentials").
//
// The hook into the token requests is one place, Config.ctx: with
// ClientAuth private_key_jwt, the HTTP client handed to x/oauth2 adds a
// fresh assertion to every request to the token endpoint (and drops any
// client secret), so the authorization-code exchange, the device poll, the
// refresh and the client credentials grant all authenticate the same way.

// ClientAuthPrivateKeyJWT is Config.ClientAuth for certificate credentials.
const ClientAuthPrivateKeyJWT = "private_key_jwt"

// ClientAssertionType is the client_assertion_type of a JWT assertion.
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: Microsoft's
// libraries use 10 minutes, and the assertion is made for one request.
const assertionLifetime = 10 * time.Minute

// FieldClientKey identifies the client key field (a certificate with its
// private key, or a Google service account's JSON key) in problems.
const FieldClientKey = "client_key"

// CodeClientKey is the error code of a client key that cannot be used
// (ours, not the provider's: no request was made).
const CodeClientKey = "client_key"

// KeyError is a client key that cannot be used: unreadable, not matching
// its certificate, expired. Problem follows the field's name ("is not …").
type KeyError struct {
	Problem string
}

func (e *KeyError) Error() string { return "client key " + e.Problem }

// Advice: the key in the token's settings must be replaced.
func (e *KeyError) Advice() (string, advice.Kind) {
	return "The client key stored for this token " + e.Problem + ": save a valid one on the token's Edit page.", advice.Misconfigured
}

// Certificate is a certificate and its private key, read from PEM.
type Certificate struct {
	Key  *rsa.PrivateKey
	Cert *x509.Certificate
}

// ParseCertificate reads a PEM file holding an RSA private key (PKCS#8
// "PRIVATE KEY" or PKCS#1 "RSA PRIVATE KEY") and the certificate that goes
// with it, in any order, as `openssl req -x509 -newkey rsa:2048 -nodes`
// and `cat key.pem cert.pem` leave them. Other certificates (a chain) are
// skipped. It checks that the certificate is the key's, not the dates.
func ParseCertificate(data []byte) (*Certificate, error) {
	var key *rsa.PrivateKey
	var certs []*x509.Certificate
	rest := bytes.TrimSpace(data)
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			break
		}
		switch b.Type {
		case "CERTIFICATE":
			c, err := x509.ParseCertificate(b.Bytes)
			if err != nil {
				return nil, &KeyError{Problem: "holds a certificate that cannot be read (" + err.Error() + ")"}
			}
			certs = append(certs, c)
		case "PRIVATE KEY", "RSA PRIVATE KEY":
			if key != nil {
				return nil, &KeyError{Problem: "holds more than one private key: keep only the certificate's"}
			}
			k, err := parseRSAKey(b)
			if err != nil {
				return nil, err
			}
			key = k
		case "ENCRYPTED PRIVATE KEY":
			return nil, &KeyError{Problem: "is encrypted with a password: export it without one (openssl pkcs8 -topk8 -nocrypt -in key.pem)"}
		case "EC PRIVATE KEY":
			return nil, &KeyError{Problem: "is an EC key: Microsoft takes RSA certificates only (openssl req -x509 -newkey rsa:2048)"}
		}
	}
	switch {
	case key == nil && len(certs) == 0:
		return nil, &KeyError{Problem: "is not PEM: paste the private key and the certificate, each with its -----BEGIN …----- line"}
	case key == nil:
		return nil, &KeyError{Problem: "has no private key: paste the private key (-----BEGIN PRIVATE KEY-----) with the certificate"}
	case len(certs) == 0:
		return nil, &KeyError{Problem: "has no certificate: paste the certificate (-----BEGIN CERTIFICATE-----) uploaded to the app registration with its private key"}
	}
	for _, c := range certs {
		if pub, ok := c.PublicKey.(*rsa.PublicKey); ok && pub.Equal(&key.PublicKey) {
			return &Certificate{Key: key, Cert: c}, nil
		}
	}
	return nil, &KeyError{Problem: "does not match its certificate: the private key belongs to another certificate"}
}

func parseRSAKey(b *pem.Block) (*rsa.PrivateKey, error) {
	if b.Type == "RSA PRIVATE KEY" {
		k, err := x509.ParsePKCS1PrivateKey(b.Bytes)
		if err != nil {
			return nil, &KeyError{Problem: "holds a private key that cannot be read (" + err.Error() + ")"}
		}
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
	if err != nil {
		return nil, &KeyError{Problem: "holds a private key that cannot be read (" + err.Error() + ")"}
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, &KeyError{Problem: fmt.Sprintf("holds a %T key: Microsoft takes RSA certificates only (openssl req -x509 -newkey rsa:2048)", k)}
	}
	return rk, nil
}

// Check refuses a certificate that is not valid at now.
func (c *Certificate) Check(now time.Time) error {
	switch {
	case now.After(c.Cert.NotAfter):
		return &KeyError{Problem: "is a certificate that expired on " + c.Cert.NotAfter.UTC().Format(time.DateOnly) +
			": create a new one, upload it to the app registration (Certificates & secrets), and paste it here"}
	case now.Before(c.Cert.NotBefore):
		return &KeyError{Problem: "is a certificate that is not valid before " + c.Cert.NotBefore.UTC().Format(time.DateOnly)}
	}
	return nil
}

// ThumbprintS256 is the x5t#S256 header value: the base64url SHA-256 of
// the certificate's DER encoding.
func (c *Certificate) ThumbprintS256() string {
	sum := sha256.Sum256(c.Cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// Thumbprint is the SHA-1 thumbprint in hex, as the Entra admin center
// lists it under Certificates & secrets.
func (c *Certificate) Thumbprint() string {
	sum := sha1.Sum(c.Cert.Raw)
	return strings.ToUpper(hex.EncodeToString(sum[:]))
}

// Assertion signs a client assertion for clientID to present at endpoint
// (the "aud"), valid from now for assertionLifetime.
func (c *Certificate) Assertion(clientID, endpoint string, now time.Time) (string, error) {
	header := map[string]string{"alg": "PS256", "typ": "JWT", "x5t#S256": c.ThumbprintS256()}
	claims := map[string]any{
		"aud": endpoint, "iss": clientID, "sub": clientID, "jti": NewState(),
		"nbf": now.Unix(), "iat": now.Unix(), "exp": now.Add(assertionLifetime).Unix(),
	}
	return signJWT(c.Key, "PS256", header, claims)
}

// signJWT signs a compact JWS over header and claims with key: RS256
// (PKCS #1 v1.5) or PS256 (PSS, salt as long as the hash, RFC 7518 3.5).
func signJWT(key *rsa.PrivateKey, alg string, header, claims any) (string, error) {
	h, err := json.Marshal(header)
	if err != nil {
		return "", err
	}
	p, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p)
	sum := sha256.Sum256([]byte(input))
	var sig []byte
	switch alg {
	case "RS256":
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, sum[:])
	case "PS256":
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, sum[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash})
	default:
		err = fmt.Errorf("unsupported algorithm %s", alg)
	}
	if err != nil {
		return "", fmt.Errorf("sign JWT: %w", err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig), nil
}

func (c Config) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// certificate reads the config's client key as a certificate credential.
func (c Config) certificate() (*Certificate, error) {
	if c.ClientKey.IsZero() {
		return nil, &KeyError{Problem: "is missing: certificate credentials (private_key_jwt) need the certificate and its private key"}
	}
	return ParseCertificate([]byte(c.ClientKey.Reveal()))
}

// assertionClient wraps client so that requests to the token endpoint
// carry a client assertion instead of a client secret.
func (c Config) assertionClient(client *http.Client) *http.Client {
	wrapped := *client
	base := client.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	wrapped.Transport = &assertionTransport{base: base, cfg: c, endpoint: c.Endpoints().Token}
	return &wrapped
}

type assertionTransport struct {
	base     http.RoundTripper
	cfg      Config
	endpoint string
}

// maxTokenForm bounds the token request bodies the transport rewrites.
const maxTokenForm = 1 << 20

func (t *assertionTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodPost || req.URL.String() != t.endpoint || req.Body == nil {
		return t.base.RoundTrip(req)
	}
	body, err := io.ReadAll(io.LimitReader(req.Body, maxTokenForm))
	req.Body.Close()
	if err != nil {
		return nil, err
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, fmt.Errorf("client assertion: token request: %w", err)
	}
	cert, err := t.cfg.certificate()
	if err != nil {
		return nil, err
	}
	if err := cert.Check(t.cfg.now()); err != nil {
		return nil, err
	}
	assertion, err := cert.Assertion(t.cfg.ClientID, t.endpoint, t.cfg.now())
	if err != nil {
		return nil, err
	}
	form.Del("client_secret")
	form.Set("client_id", t.cfg.ClientID)
	form.Set("client_assertion_type", ClientAssertionType)
	form.Set("client_assertion", assertion)
	encoded := form.Encode()
	out := req.Clone(req.Context())
	out.Header.Del("Authorization") // never a secret in Basic beside the assertion
	out.Body = io.NopCloser(strings.NewReader(encoded))
	out.ContentLength = int64(len(encoded))
	out.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(strings.NewReader(encoded)), nil }
	return t.base.RoundTrip(out)
}

// keyProblem turns a *KeyError anywhere in err into the provider error
// that stops the token until the key is replaced, or returns nil.
func (c Config) keyProblem(op string, err error) *Error {
	var ke *KeyError
	if !errors.As(err, &ke) {
		return nil
	}
	e := c.newError(op)
	e.Kind, e.Code, e.Description, e.Err = advice.Misconfigured, CodeClientKey, ke.Problem, ke
	return e
}
