package dovecot

import (
	"crypto/x509"
	"fmt"

	"mailtokens/internal/sandbox/testcert"
)

// tlsFiles are the PEM files of a throwaway CA and the server certificate it
// signed.
type tlsFiles struct {
	caFile, certFile, keyFile string
	pool                      *x509.CertPool
}

// writeTLSFiles makes a CA and a certificate for localhost, 127.0.0.1 and
// ::1 (the sandbox servers' testcert), and writes them into dir. A CA rather
// than one self-signed certificate, so that clients verify the chain the way
// they do in production instead of pinning a leaf. The key file is 0600:
// Dovecot's config process reads it as root.
func writeTLSFiles(dir string) (*tlsFiles, error) {
	c, err := testcert.New()
	if err != nil {
		return nil, fmt.Errorf("make TLS certificate: %w", err)
	}
	ca, cert, key, err := c.WriteFiles(dir)
	if err != nil {
		return nil, fmt.Errorf("write TLS files: %w", err)
	}
	return &tlsFiles{caFile: ca, certFile: cert, keyFile: key, pool: c.Pool()}, nil
}
