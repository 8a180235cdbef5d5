package provider

import (
	"errors"
	"strings"
	"time"
)

// KeyInfo is what may be shown of a client key: never the key itself.
type KeyInfo struct {
	Kind string // "certificate" or "service account"
	// Subject is the certificate's subject (CN=…) or the service account's
	// email address.
	Subject string
	// NotAfter is the certificate's expiry; zero for a service account key
	// (Google's do not expire unless an organization policy says so).
	NotAfter time.Time
	// Thumbprint is the certificate's SHA-1 thumbprint as the Entra admin
	// center lists it, or the service account key's ID.
	Thumbprint string
}

// String is the one line the admin utility shows of a stored key.
func (k KeyInfo) String() string {
	if k.Kind == "service account" {
		return "service account " + k.Subject + ", key ID " + k.Thumbprint
	}
	return "certificate " + k.Subject + ", expires " + k.NotAfter.UTC().Format(time.DateOnly) + ", thumbprint " + k.Thumbprint
}

// ClientKeyInfo reads the config's client key: a Google service account's
// JSON key for Google, a certificate with its private key otherwise. A
// *KeyError says what is wrong with it.
func (c Config) ClientKeyInfo() (KeyInfo, error) {
	if c.Type == Google {
		sa, err := c.serviceAccount()
		if err != nil {
			return KeyInfo{}, err
		}
		return KeyInfo{Kind: "service account", Subject: sa.ClientEmail, Thumbprint: sa.PrivateKeyID}, nil
	}
	cert, err := c.certificate()
	if err != nil {
		return KeyInfo{}, err
	}
	subject := cert.Cert.Subject.String()
	if cn := cert.Cert.Subject.CommonName; cn != "" {
		subject = "CN=" + cn
	}
	return KeyInfo{Kind: "certificate", Subject: subject, NotAfter: cert.Cert.NotAfter, Thumbprint: cert.Thumbprint()}, nil
}

// CheckClientKey is ClientKeyInfo for a key being saved: a certificate
// must also be valid at now (an expired one would only fail later, at the
// provider, with AADSTS700027).
func (c Config) CheckClientKey(now time.Time) (KeyInfo, error) {
	info, err := c.ClientKeyInfo()
	if err != nil || info.Kind != "certificate" {
		return info, err
	}
	cert, _ := c.certificate()
	return info, cert.Check(now)
}

// KeyProblem is the field error's message for a client key error: it
// follows the field's label ("is not PEM: …").
func KeyProblem(err error) string {
	var ke *KeyError
	if errors.As(err, &ke) {
		return ke.Problem
	}
	return "cannot be used: " + strings.TrimSpace(err.Error())
}
