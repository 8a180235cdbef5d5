package pop3_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/pop3"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/pop3d"
	"mailtokens/internal/sandbox/sandboxtest"
)

// testTimeout is the client's idle timeout in tests that do not test
// timeouts: long enough for a loaded machine, short enough that a hang
// fails the test instead of the whole run.
const testTimeout = 10 * time.Second

// Mailboxes and passwords the fixtures set up besides the idp world's.
const (
	pwUser     = "worker@example.test"
	pwPassword = "correct horse battery staple"
)

// fixture is a sandbox identity provider, a mail directory and a POP3
// server of one style.
type fixture struct {
	p   *idp.Server
	w   idp.World
	dir *mailauth.Directory
	srv *pop3d.Server
}

func newFixture(t *testing.T, style provider.Type) *fixture {
	t.Helper()
	serverTLS, _ := testTLS(t)
	e := sandboxtest.New(t, sandboxtest.SharedMailbox(), sandboxtest.POP3(style, func(o *pop3d.Options) { o.TLS = serverTLS }))
	e.Directory.SetPassword(pwUser, pwPassword)
	p, w, dir, srv := e.IDP, e.World, e.Directory, e.POP3[style].Server
	return &fixture{p: p, w: w, dir: dir, srv: srv}
}

func (f *fixture) listen(t *testing.T, mode mailauth.Mode) string {
	t.Helper()
	addr, err := f.srv.Listen(mode)
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// token mints a live access token for email.
func (f *fixture) token(t *testing.T, typ provider.Type, email string) string {
	t.Helper()
	at, _, err := f.p.MintToken(context.Background(), f.w, typ, email)
	if err != nil {
		t.Fatal(err)
	}
	return at
}

// dial connects a client, with implicit TLS for mailauth.ImplicitTLS, and
// closes it when the test ends.
func dial(t *testing.T, addr string, mode mailauth.Mode) *pop3.Client {
	t.Helper()
	var cfg *tls.Config
	if mode == mailauth.ImplicitTLS {
		_, cfg = testTLS(t)
	}
	c, err := pop3.Dial(context.Background(), addr, cfg, testTimeout)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// plainServer is a plain-text pop3d of one style with a password user.
func plainServer(t *testing.T, style provider.Type) (*fixture, string) {
	t.Helper()
	f := newFixture(t, style)
	return f, f.listen(t, mailauth.Plain)
}

// loggedIn dials addr and logs in as the password user.
func loggedIn(t *testing.T, addr string) *pop3.Client {
	t.Helper()
	c := dial(t, addr, mailauth.Plain)
	if err := c.User(pwUser, pwPassword); err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	certOnce             sync.Once
	serverTLS, clientTLS *tls.Config
	certErr              error
)

// testTLS returns a server configuration with a throwaway self-signed
// certificate for 127.0.0.1 and a client configuration that trusts it (and
// nothing else). The certificate is made once per test binary.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	certOnce.Do(func() { serverTLS, clientTLS, certErr = makeTestTLS() })
	if certErr != nil {
		t.Fatal(certErr)
	}
	return serverTLS.Clone(), clientTLS.Clone()
}

func makeTestTLS() (server, client *tls.Config, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "pop3 test"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	server = &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key, Leaf: cert}}}
	client = &tls.Config{RootCAs: pool}
	return server, client, nil
}
