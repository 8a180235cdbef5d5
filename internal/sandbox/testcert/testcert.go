// Package testcert makes a throwaway certificate authority and a server
// certificate for the loopback addresses, so that the sandbox mail servers
// can speak real TLS and their clients can verify it the way they verify
// outlook.office365.com or imap.gmail.com: against a root they trust, by
// the name or IP address they dialed. Nothing is ever read from disk; the
// keys live as long as the process, unless WriteFiles hands them to another
// process (a worker under test, Dovecot).
package testcert

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// Cert is a CA and a server certificate it signed, valid for localhost,
// 127.0.0.1 and ::1 (and the addresses given to New).
type Cert struct {
	ca     *x509.Certificate
	caPEM  []byte
	pool   *x509.CertPool
	leaf   tls.Certificate
	crtPEM []byte
	keyPEM []byte
}

// lifetime is long enough for a demo left running, short enough that a file
// written by WriteFiles and forgotten is soon worthless.
const lifetime = 90 * 24 * time.Hour

// New generates a fresh CA and server certificate (ECDSA P-256), valid
// also for the IP addresses ips: a sandbox server listening beyond
// loopback, in a test's own network namespace.
func New(ips ...net.IP) (*Cert, error) {
	// Back-date the start: a client whose clock is a little behind must
	// not see a certificate from the future.
	notBefore := time.Now().Add(-time.Hour)
	notAfter := notBefore.Add(lifetime)

	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcert: CA key: %w", err)
	}
	caTemplate := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{Organization: []string{"mailtokens sandbox"}, CommonName: "mailtokens sandbox CA"},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true, // it signs leaves only
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testcert: CA certificate: %w", err)
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("testcert: CA certificate: %w", err)
	}

	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("testcert: server key: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{Organization: []string{"mailtokens sandbox"}, CommonName: "localhost"},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		// Clients verify by what they dialed: "localhost" by DNS name,
		// "127.0.0.1" and "::1" by IP SAN. The common name counts for
		// nothing in Go and in modern TLS stacks.
		DNSNames:    []string{"localhost"},
		IPAddresses: append([]net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback}, ips...),
		KeyUsage:    x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, template, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("testcert: server certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testcert: server key: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: server certificate: %w", err)
	}

	pool := x509.NewCertPool()
	pool.AddCert(ca)
	return &Cert{
		ca:     ca,
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
		pool:   pool,
		leaf:   tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		crtPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		keyPEM: pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}, nil
}

// serial returns a random 128-bit serial number, as RFC 5280 asks (unique
// per CA, at most 20 octets, positive).
func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		// crypto/rand does not fail on supported platforms.
		panic("testcert: random serial: " + err.Error())
	}
	return n.Add(n, big.NewInt(1))
}

// ServerTLS returns a new server configuration presenting the server
// certificate. Each call returns a fresh value the caller may change.
func (c *Cert) ServerTLS() *tls.Config {
	return &tls.Config{
		Certificates: []tls.Certificate{c.leaf},
		MinVersion:   tls.VersionTLS12,
	}
}

// ClientTLS returns a new client configuration that trusts the CA and
// nothing else. ServerName is left empty on purpose: a client that dialed
// 127.0.0.1 must verify the certificate by its IP SAN, as a worker
// configured with MAILBOX_HOST = 127.0.0.1 would. Each call returns a fresh
// value the caller may change.
func (c *Cert) ClientTLS() *tls.Config {
	return &tls.Config{
		RootCAs:    c.Pool(),
		MinVersion: tls.VersionTLS12,
	}
}

// Pool returns a new pool holding only the CA.
func (c *Cert) Pool() *x509.CertPool {
	return c.pool.Clone()
}

// CA returns the CA certificate, for callers that build their own pools.
func (c *Cert) CA() *x509.Certificate { return c.ca }

// WriteFiles writes the CA certificate, the server certificate and the
// server's private key as PEM files in dir (ca.pem, cert.pem, key.pem), for
// programs that take file names. The key file is readable by the owner only.
func (c *Cert) WriteFiles(dir string) (caFile, certFile, keyFile string, err error) {
	caFile = filepath.Join(dir, "ca.pem")
	certFile = filepath.Join(dir, "cert.pem")
	keyFile = filepath.Join(dir, "key.pem")
	for _, f := range []struct {
		name string
		data []byte
		perm os.FileMode
	}{
		{caFile, c.caPEM, 0o644},
		{certFile, c.crtPEM, 0o644},
		{keyFile, c.keyPEM, 0o600},
	} {
		if err := writeFile(f.name, f.data, f.perm); err != nil {
			return "", "", "", fmt.Errorf("testcert: %w", err)
		}
	}
	return caFile, certFile, keyFile, nil
}

// writeFile writes data to name with perm, also when name already exists
// with looser permissions: os.WriteFile keeps an existing file's mode, and
// a private key must never stay world-readable.
func writeFile(name string, data []byte, perm os.FileMode) error {
	f, err := os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
	if err != nil {
		return err
	}
	if err := f.Chmod(perm); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// Client is an app's certificate credential: a self-signed RSA certificate
// and its key, as `openssl req -x509 -newkey rsa:2048 -nodes` makes them
// for an Entra app registration (Certificates & secrets > Certificates).
type Client struct {
	Cert *x509.Certificate
	Key  *rsa.PrivateKey
	// PEM is the private key (PKCS#8) followed by the certificate: what an
	// admin pastes into the token's Client Key field.
	PEM string
	// CertPEM is the certificate alone: what is uploaded to the app.
	CertPEM string
}

// NewClient makes a certificate credential named cn, valid from notBefore
// to notAfter (RSA 2048: Microsoft takes RSA only).
func NewClient(cn string, notBefore, notAfter time.Time) (*Client, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("testcert: client key: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, template, template, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("testcert: client certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("testcert: client certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("testcert: client key: %w", err)
	}
	certPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
	return &Client{Cert: cert, Key: key, CertPEM: certPEM,
		PEM: string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})) + certPEM}, nil
}

var (
	sharedMu      sync.Mutex
	sharedClients = map[string]*Client{}
)

// SharedClient is one certificate credential per name and process, valid
// from 2020 to 2099 so that tests on fake clocks can use it: RSA keys are
// slow to make, and every sandbox world registers some.
func SharedClient(cn string) (*Client, error) {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if c := sharedClients[cn]; c != nil {
		return c, nil
	}
	c, err := NewClient(cn, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2099, 12, 31, 0, 0, 0, 0, time.UTC))
	if err != nil {
		return nil, err
	}
	sharedClients[cn] = c
	return c, nil
}
