// Package oidcprovider runs an OpenID Connect server we did not write —
// panva's oidc-provider from the npm registry, the version that
// testdata/server/package-lock.json pins — on loopback, so that tests try
// the "Other OAuth2 provider" path against an independent, standards-
// compliant implementation as well as against the sandbox identity
// provider (internal/sandbox/idp), and a real Dovecot can introspect its
// tokens (Server.DovecotIntrospectionURL).
//
// It needs Node.js (Debian's nodejs, 18 or later) and the server's
// node_modules, installed from the lock file:
//
//	apt-get install nodejs npm
//	npm ci --prefix internal/sandbox/oidcprovider/testdata/server
//
// .ci/run does both. Without them Start skips the test, or fails it under
// MAILTOKENS_REQUIRE_ALL=1 (see internal/testenv), as the Dovecot tests do.
//
// Each Server is its own node process with its own port and in-memory
// state, started with the Options of one test and stopped when it ends (or
// when the test binary dies: the server exits when its standard input
// closes). The login and consent pages are oidc-provider's own development
// pages (devInteractions), driven over HTTP by SignIn and ApproveDevice the
// way a browser would: they take any password, and the login typed becomes
// the subject (sub); Options.Users gives each login its email claim.
//
// The package is for tests and imports testing; the production programs
// never link it (make lint checks).
package oidcprovider

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/syncbuf"
	"mailtokens/internal/testenv"
)

// The grant types a client can be given.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// The client authentication methods (RFC 7591 token_endpoint_auth_method).
const (
	ClientSecretBasic = "client_secret_basic"
	ClientSecretPost  = "client_secret_post"
	None              = "none"
)

// Client is an app registration at the server.
type Client struct {
	ID     string
	Secret string // empty for AuthMethod None
	// AuthMethod is the one way this client may authenticate at the token,
	// revocation and introspection endpoints: ClientSecretBasic,
	// ClientSecretPost or None. oidc-provider refuses the others.
	AuthMethod   string
	RedirectURIs []string
	// GrantTypes default to authorization code (when there are
	// RedirectURIs), refresh token and device code.
	GrantTypes []string
}

// Options configure one server.
type Options struct {
	// Users are the accounts, login → email address. The login is what
	// SignIn types and becomes the subject (sub); the email address is the
	// email claim (userinfo, ID token with the email scope) and the
	// introspection answer's "email", which Dovecot takes as the mailbox
	// name. Default: alice → alice@example.test.
	Users map[string]string
	// Clients are the registered apps. A client for Dovecot's
	// introspection is always added (DovecotIntrospectionURL).
	Clients []Client
	// RotateRefreshToken makes every refresh return a new refresh token
	// and spend the old one: presenting a spent one revokes the whole
	// grant. Without it the refresh token never changes.
	RotateRefreshToken bool
	// RefreshWithoutConsent issues a refresh token with every grant of a
	// client allowed the refresh_token grant. Without it the server is as
	// OpenID Connect Core 1.0 §11 says: a refresh token only with the
	// offline_access scope, and offline_access only with prompt=consent.
	RefreshWithoutConsent bool
	// RequireNonce refuses an authorization request that asks for openid
	// without a nonce, as some servers do even in the code flow.
	RequireNonce bool
	// AccessTokenTTL is how long access tokens live (default 1 hour).
	AccessTokenTTL time.Duration
	// AnySecretMethod lets a client with a secret use it in the form body
	// or as HTTP Basic, whichever it was registered for, as oidc-provider
	// does by itself. By default a client must authenticate the one way
	// it is registered for (Client.AuthMethod), as a server configured for
	// client_secret_basic only does: the body's secret gets 401
	// invalid_client.
	AnySecretMethod bool
}

// Server is a running oidc-provider.
type Server struct {
	// Issuer is the server's URL, http://127.0.0.1:PORT: its discovery
	// document is Issuer + "/.well-known/openid-configuration".
	Issuer string
	// The endpoints, as the discovery document lists them.
	AuthURL, TokenURL, DeviceURL, RevokeURL, IntrospectionURL, UserinfoURL string

	dovecotSecret string
	out           *syncbuf.Buffer
	cmd           *exec.Cmd
	stdin         io.WriteCloser
	exited        chan struct{}
	waitErr       error
	stopOnce      sync.Once
}

// DovecotClientID is the client Dovecot authenticates as to introspect.
const DovecotClientID = "dovecot"

// The default account.
const (
	DefaultUser  = "alice"
	DefaultEmail = "alice@example.test"
)

// DovecotIntrospectionURL is the introspection endpoint with the Dovecot
// client's credentials in it, for dovecot.Options.IntrospectionURL (with
// UsernameAttribute "email"): oidc-provider, like RFC 7662 §2.1 asks,
// answers only authenticated resource servers.
func (s *Server) DovecotIntrospectionURL() string {
	u, _ := url.Parse(s.IntrospectionURL)
	u.User = url.UserPassword(DovecotClientID, s.dovecotSecret)
	return u.String()
}

// MissingError says what this machine lacks to run the server, and how to
// get it.
type MissingError struct {
	What, Remedy string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is not available (%s)", e.What, e.Remedy)
}

// Dir is the directory of server.mjs, package.json and package-lock.json.
func Dir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "testdata", "server")
}

// Missing returns a *MissingError when the server cannot run here: no
// node, or node_modules not installed from the lock file (or installed for
// another version of it). nil means Launch can start one.
func Missing() error {
	_, err := findNode()
	return err
}

func findNode() (string, error) {
	node, ok := testenv.Find("node", "nodejs")
	if !ok {
		return "", &MissingError{What: "node (Node.js)", Remedy: "apt-get install nodejs npm"}
	}
	dir := Dir()
	npmCI := "npm ci --prefix " + dir
	var lock struct {
		Packages map[string]struct {
			Version string `json:"version"`
		} `json:"packages"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "package-lock.json"))
	if err != nil {
		return "", &MissingError{What: "oidc-provider's package-lock.json", Remedy: err.Error()}
	}
	if err := json.Unmarshal(data, &lock); err != nil {
		return "", fmt.Errorf("oidc-provider: package-lock.json: %w", err)
	}
	want := lock.Packages["node_modules/oidc-provider"].Version
	var installed struct {
		Version string `json:"version"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "node_modules", "oidc-provider", "package.json"))
	if err != nil {
		return "", &MissingError{What: "oidc-provider " + want + " (npm)", Remedy: npmCI}
	}
	if json.Unmarshal(data, &installed) != nil || installed.Version != want {
		return "", &MissingError{What: "oidc-provider " + want + " (npm; " + installed.Version + " is installed)", Remedy: npmCI}
	}
	return node, nil
}

// serverConf is what server.mjs reads; see its header.
type serverConf struct {
	Port                  int               `json:"port"`
	Users                 map[string]string `json:"users"`
	Clients               []clientMetadata  `json:"clients"`
	RotateRefreshToken    bool              `json:"rotateRefreshToken"`
	RefreshWithoutConsent bool              `json:"refreshWithoutConsent"`
	RequireNonce          bool              `json:"requireNonce"`
	AccessTokenTTL        int               `json:"accessTokenTTL"`
	StrictClientAuth      bool              `json:"strictClientAuth"`
	CookieKeys            []string          `json:"cookieKeys"`
}

// clientMetadata is a client as oidc-provider takes it (RFC 7591 names).
type clientMetadata struct {
	ClientID                string   `json:"client_id"`
	ClientSecret            string   `json:"client_secret,omitempty"`
	TokenEndpointAuthMethod string   `json:"token_endpoint_auth_method"`
	RedirectURIs            []string `json:"redirect_uris"`
	GrantTypes              []string `json:"grant_types"`
	ResponseTypes           []string `json:"response_types"`
}

// startTimeout bounds the wait for the ready line.
const startTimeout = 30 * time.Second

// Launch starts a server; Stop ends it. It returns a *MissingError when
// node or the server's node_modules are missing.
func Launch(opt Options) (_ *Server, err error) {
	node, err := findNode()
	if err != nil {
		return nil, err
	}
	conf := serverConf{
		Users:                 opt.Users,
		RotateRefreshToken:    opt.RotateRefreshToken,
		RefreshWithoutConsent: opt.RefreshWithoutConsent,
		RequireNonce:          opt.RequireNonce,
		AccessTokenTTL:        int(opt.AccessTokenTTL / time.Second),
		StrictClientAuth:      !opt.AnySecretMethod,
		CookieKeys:            []string{randomHex()},
	}
	if len(conf.Users) == 0 {
		conf.Users = map[string]string{DefaultUser: DefaultEmail}
	}
	for _, c := range opt.Clients {
		m := clientMetadata{
			ClientID: c.ID, ClientSecret: c.Secret, TokenEndpointAuthMethod: c.AuthMethod,
			RedirectURIs: c.RedirectURIs, GrantTypes: c.GrantTypes, ResponseTypes: []string{"code"},
		}
		if m.TokenEndpointAuthMethod == "" {
			m.TokenEndpointAuthMethod = ClientSecretBasic
		}
		if len(m.GrantTypes) == 0 {
			m.GrantTypes = []string{GrantRefreshToken, GrantDeviceCode}
			if len(m.RedirectURIs) > 0 {
				m.GrantTypes = append(m.GrantTypes, GrantAuthorizationCode)
			}
		}
		if m.RedirectURIs == nil {
			m.RedirectURIs = []string{}
		}
		if !slices.Contains(m.GrantTypes, GrantAuthorizationCode) {
			m.ResponseTypes = []string{}
		}
		conf.Clients = append(conf.Clients, m)
	}
	s := &Server{dovecotSecret: randomHex(), out: &syncbuf.Buffer{}, exited: make(chan struct{})}
	// A resource server only: it may introspect, nothing else.
	conf.Clients = append(conf.Clients, clientMetadata{
		ClientID: DovecotClientID, ClientSecret: s.dovecotSecret, TokenEndpointAuthMethod: ClientSecretBasic,
		RedirectURIs: []string{}, GrantTypes: []string{}, ResponseTypes: []string{},
	})

	dir, err := os.MkdirTemp("", "mt-oidc-provider-")
	if err != nil {
		return nil, fmt.Errorf("oidc-provider: %w", err)
	}
	defer os.RemoveAll(dir) // read once at start
	confFile := filepath.Join(dir, "config.json")
	data, _ := json.Marshal(conf)
	if err := os.WriteFile(confFile, data, 0o600); err != nil {
		return nil, fmt.Errorf("oidc-provider: %w", err)
	}

	s.cmd = exec.Command(node, filepath.Join(Dir(), "server.mjs"), confFile)
	s.cmd.Dir = Dir()
	s.cmd.Env = append(os.Environ(), "NODE_ENV=test")
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("oidc-provider: %w", err)
	}
	s.cmd.Stderr = s.out
	if s.stdin, err = s.cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("oidc-provider: %w", err)
	}
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("oidc-provider: %w", err)
	}
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.out, line)
			if issuer, ok := strings.CutPrefix(line, "listening "); ok {
				select {
				case ready <- issuer:
				default:
				}
			}
		}
		io.Copy(io.Discard, stdout)
		s.waitErr = s.cmd.Wait()
		close(s.exited)
	}()
	defer func() {
		if err != nil {
			s.Stop()
		}
	}()
	select {
	case s.Issuer = <-ready:
	case <-s.exited:
		return nil, fmt.Errorf("oidc-provider exited before it was ready (%v):\n%s", s.waitErr, s.Output())
	case <-time.After(startTimeout):
		return nil, fmt.Errorf("oidc-provider not ready after %s:\n%s", startTimeout, s.Output())
	}
	if err := s.readDiscovery(); err != nil {
		return nil, err
	}
	return s, nil
}

// readDiscovery fills the endpoint fields from the server's own document.
func (s *Server) readDiscovery() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, s.Issuer+"/.well-known/openid-configuration", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("oidc-provider: discovery: %w", err)
	}
	defer resp.Body.Close()
	var d struct {
		Auth       string `json:"authorization_endpoint"`
		Token      string `json:"token_endpoint"`
		Device     string `json:"device_authorization_endpoint"`
		Revoke     string `json:"revocation_endpoint"`
		Introspect string `json:"introspection_endpoint"`
		Userinfo   string `json:"userinfo_endpoint"`
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("oidc-provider: discovery: %s", resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(&d); err != nil {
		return fmt.Errorf("oidc-provider: discovery: %w", err)
	}
	s.AuthURL, s.TokenURL, s.DeviceURL = d.Auth, d.Token, d.Device
	s.RevokeURL, s.IntrospectionURL, s.UserinfoURL = d.Revoke, d.Introspect, d.Userinfo
	if s.AuthURL == "" || s.TokenURL == "" || s.DeviceURL == "" || s.RevokeURL == "" || s.IntrospectionURL == "" {
		return fmt.Errorf("oidc-provider: discovery lacks an endpoint: %+v", d)
	}
	return nil
}

// Output is what the server printed (its warnings, errors and the ready
// line).
func (s *Server) Output() string { return s.out.String() }

// Stop ends the server: it closes its standard input, and kills it if it
// has not exited a few seconds later.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		s.stdin.Close()
		select {
		case <-s.exited:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
			<-s.exited
		}
	})
	var exit *exec.ExitError
	if s.waitErr != nil && !errors.As(s.waitErr, &exit) {
		return fmt.Errorf("oidc-provider: %w", s.waitErr)
	}
	return nil
}

// Introspect asks the server about token as Dovecot does, and returns its
// answer (RFC 7662: "active", and for an active access token "sub",
// "client_id", "scope", "exp" and the "email" Dovecot reads).
func (s *Server) Introspect(ctx context.Context, token string) (map[string]any, error) {
	form := url.Values{"token": {token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.IntrospectionURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(DovecotClientID, s.dovecotSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("introspection: %s: %s", resp.Status, body)
	}
	var out map[string]any
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, fmt.Errorf("introspection: %w", err)
	}
	return out, nil
}

func randomHex() string {
	b := make([]byte, 16)
	rand.Read(b)
	return hex.EncodeToString(b)
}
