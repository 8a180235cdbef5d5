package mailconn

import (
	"crypto/x509"
	"fmt"
	"os"
)

// RootsFromFile reads the PEM certificates of the CAs that sign a mail
// server's certificate (a private CA). With system, the system's roots are
// trusted too (evadmin's Test button meets public and private servers);
// without, only the file's (a worker's task names one server).
func RootsFromFile(path string, system bool) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%s: read the CA file: %w", path, err)
	}
	pool := x509.NewCertPool()
	if system {
		if sys, err := x509.SystemCertPool(); err == nil {
			pool = sys
		}
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}
