package testcert

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"
)

// serveTLS accepts TLS connections on a loopback listener of network and
// answers each with "ok".
func serveTLS(t *testing.T, network, addr string, cfg *tls.Config) string {
	t.Helper()
	ln, err := tls.Listen(network, addr, cfg)
	if err != nil {
		t.Skipf("listen on %s: %v", addr, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			conn.SetDeadline(time.Now().Add(10 * time.Second))
			io.WriteString(conn, "ok")
			conn.Close()
		}
	}()
	return ln.Addr().String()
}

// dial connects to addr over network and expects the server's "ok".
func dial(network, addr string, cfg *tls.Config) error {
	d := &net.Dialer{Timeout: 10 * time.Second}
	conn, err := tls.DialWithDialer(d, network, addr, cfg)
	if err != nil {
		return err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(10 * time.Second))
	b, err := io.ReadAll(conn)
	if err != nil {
		return err
	}
	if string(b) != "ok" {
		return errors.New("server said " + string(b))
	}
	return nil
}

// A client verifies the server by whatever it dialed: each loopback IP by
// its IP SAN, localhost by its DNS name.
func TestClientVerifiesByWhatItDialed(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	v4 := serveTLS(t, "tcp4", "127.0.0.1:0", c.ServerTLS())
	_, port, _ := net.SplitHostPort(v4)
	// tcp4, so that localhost reaches the 127.0.0.1 listener.
	for _, target := range []string{v4, net.JoinHostPort("localhost", port)} {
		if err := dial("tcp4", target, c.ClientTLS()); err != nil {
			t.Errorf("dial %s: %v", target, err)
		}
	}
	v6 := serveTLS(t, "tcp6", "[::1]:0", c.ServerTLS())
	if err := dial("tcp6", v6, c.ClientTLS()); err != nil {
		t.Errorf("dial %s: %v", v6, err)
	}
}

func TestUntrustedAndWrongName(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	other, err := New()
	if err != nil {
		t.Fatal(err)
	}
	addr := serveTLS(t, "tcp4", "127.0.0.1:0", c.ServerTLS())

	// Another sandbox's CA does not vouch for this server.
	var unknown x509.UnknownAuthorityError
	if err := dial("tcp4", addr, other.ClientTLS()); !errors.As(err, &unknown) {
		t.Errorf("dial with another CA: %v, want x509.UnknownAuthorityError", err)
	}
	// The certificate is for loopback only.
	cfg := c.ClientTLS()
	cfg.ServerName = "outlook.office365.com"
	var host x509.HostnameError
	if err := dial("tcp4", addr, cfg); !errors.As(err, &host) {
		t.Errorf("dial as outlook.office365.com: %v, want x509.HostnameError", err)
	}
}

func TestWriteFiles(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// A key file left world-readable by someone else must be tightened.
	if err := os.WriteFile(dir+"/key.pem", []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	caFile, certFile, keyFile, err := c.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm != 0o600 {
		t.Errorf("key file mode %v, want 0600", perm)
	}

	// What another process would do with the files: load the pair, trust
	// the CA, and verify the server certificate by IP.
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("load key pair: %v", err)
	}
	caPEM, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(caPEM) {
		t.Fatal("ca.pem holds no certificate")
	}
	leaf, err := x509.ParseCertificate(pair.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, DNSName: "127.0.0.1"}); err != nil {
		t.Errorf("verify cert.pem against ca.pem for 127.0.0.1: %v", err)
	}
	if block, _ := pem.Decode(caPEM); block == nil || !c.CA().Equal(mustParse(t, block.Bytes)) {
		t.Error("ca.pem is not the CA")
	}
}

func mustParse(t *testing.T, der []byte) *x509.Certificate {
	t.Helper()
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// ClientTLS and ServerTLS hand out fresh values, so one test's tweak does
// not leak into another's.
func TestConfigsAreFresh(t *testing.T) {
	c, err := New()
	if err != nil {
		t.Fatal(err)
	}
	a := c.ClientTLS()
	a.ServerName = "changed"
	a.RootCAs = nil
	if b := c.ClientTLS(); b.ServerName != "" || b.RootCAs == nil {
		t.Error("ClientTLS returned a shared value")
	}
	s := c.ServerTLS()
	s.Certificates = nil
	if len(c.ServerTLS().Certificates) != 1 {
		t.Error("ServerTLS returned a shared value")
	}
}
