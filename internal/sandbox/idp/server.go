// Package idp is a local identity provider that behaves like the Microsoft
// identity platform (v2 endpoints) and like Google's OAuth2 endpoints. Tests
// and the demo point mail-token code at it instead of the real services.
//
// It is only useful if it behaves like the real services, so every rule here
// follows what the providers are seen to do (docs/providers.md lists each
// behaviour with the conformance test that pins it):
// Microsoft's AADSTS error bodies, refresh-token rotation and inactivity
// expiry, Google's "refresh token only on first consent", its non-rotating
// refresh tokens and the 7-day limit of apps in "Testing". Where the sandbox
// is deliberately stricter than the real service (a rotated-away Microsoft
// refresh token is rejected), the code says so.
//
// All state lives in memory behind one mutex. Tokens are random strings that
// are looked up server-side; nothing is ever derived from parsing a token.
package idp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/provider"
)

// Tenant is a Microsoft Entra tenant (a directory).
type Tenant struct {
	ID     string // a GUID
	Domain string // a verified domain, e.g. contoso.example
	// UserConsentDisabled makes the tenant refuse user consent ("Need admin
	// approval"): sign-ins end with consent_required AADSTS65001 unless an
	// admin consented for the app (GrantAdminConsent).
	UserConsentDisabled bool
}

// Secret is a client secret of an app.
type Secret struct {
	Value   string
	Expires time.Time // zero = never
}

// App is an app registration (Microsoft) or an OAuth client (Google).
type App struct {
	Provider     provider.Type
	Name         string
	ClientID     string
	Secrets      []Secret
	RedirectURIs []string
	// Tenant is the Microsoft home tenant ID. The app is single-tenant unless
	// MultiTenant is set.
	Tenant      string
	MultiTenant bool
	// AllowPublicClient is Microsoft's "Allow public client flows": without it
	// every token request must carry a client secret (the device flow fails
	// with AADSTS7000218).
	AllowPublicClient bool
	// AppPermissions are Microsoft application permissions used by the
	// client credentials flow, e.g. "IMAP.AccessAsApp", "SMTP.SendAsApp"
	// (Exchange Online's, bare) or "https://graph.microsoft.com/Mail.Send"
	// (another resource's, with its URI; see appRoles).
	AppPermissions []string
	// Testing is Google's consent-screen publishing status "Testing": refresh
	// tokens die 7 days after they were issued.
	Testing bool
	// Certificates are a Microsoft app's certificate credentials: client
	// assertions signed with their keys authenticate the app (assertion.go).
	Certificates []*x509.Certificate
	// AuthMethod is a standards-issuer client's registered
	// token_endpoint_auth_method: client_secret_basic (also for ""),
	// client_secret_post or none (a public client). The issuer refuses the
	// others (standard.go).
	AuthMethod string
}

// User is an account that can sign in.
type User struct {
	Email    string
	Password string
	Tenant   string // Microsoft tenant ID; empty for Google
	Provider provider.Type
}

// Options configures a Server.
type Options struct {
	Clock  Clock        // nil = real time
	Logger *slog.Logger // nil = discard
	Std    StdOptions   // the standards issuer's behaviours (SetStdOptions)
	// Host is the address Start listens on: 127.0.0.1 when empty. A test
	// that puts the provider on a network of its own (a network namespace
	// standing in for another host) names that address.
	Host string
	// TLS, when set, makes Start serve HTTPS with it: clients refuse plain
	// HTTP to a provider beyond loopback.
	TLS *tls.Config
}

// Defaults that match the real services.
const (
	defaultAccessTokenLifetime = 3599 * time.Second
	defaultRefreshInactivity   = 90 * 24 * time.Hour
	defaultDeviceInterval      = 5
	codeLifetime               = 10 * time.Minute
	// pendingLifetime bounds how long a sign-in page stays usable.
	pendingLifetime = time.Hour
)

// Server is the sandbox identity provider. Create it with New, configure it
// with AddTenant, AddApp, AddUser and the knobs, then serve Handler() or call
// Start.
type Server struct {
	clock Clock
	log   *slog.Logger
	mux   *http.ServeMux
	pages *pageSet
	kid   string // the "key id" shown in Microsoft token headers
	host  string // where Start listens
	tls   *tls.Config

	mu    sync.Mutex
	state // everything below the mutex; see state.go

	// Set by Start.
	srvMu   sync.Mutex
	url     string
	httpSrv *http.Server
	done    chan struct{} // closed by Close so slow faults stop waiting
}

// New returns a Server with no tenants, apps or users.
func New(opt Options) *Server {
	s := &Server{
		clock: opt.Clock,
		log:   opt.Logger,
		pages: loadPages(),
		kid:   randomURLSafe(27),
		done:  make(chan struct{}),
		host:  opt.Host,
		tls:   opt.TLS,
	}
	if s.host == "" {
		s.host = "127.0.0.1"
	}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.state.init()
	s.std = opt.Std
	s.mux = s.routes()
	return s
}

// routes lists every endpoint. The Microsoft paths carry the tenant as their
// first segment, exactly like login.microsoftonline.com; Google's live under
// /google with the paths of accounts.google.com and oauth2.googleapis.com.
func (s *Server) routes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /{$}", s.handleIndex)
	m.HandleFunc("GET /error", s.handleErrorCode)

	m.HandleFunc("GET /{tenant}/oauth2/v2.0/authorize", s.handleMSAuthorize)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/authorize", s.handleMSAuthorizeSubmit)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/token", s.handleMSToken)
	m.HandleFunc("GET /{tenant}/oauth2/v2.0/token", s.handleMSTokenGet)
	m.HandleFunc("POST /{tenant}/oauth2/v2.0/devicecode", s.handleMSDeviceCode)

	m.HandleFunc("GET /google/o/oauth2/v2/auth", s.handleGoogleAuth)
	m.HandleFunc("POST /google/o/oauth2/v2/auth", s.handleGoogleAuthSubmit)
	m.HandleFunc("POST /google/token", s.handleGoogleToken)
	m.HandleFunc("POST /google/revoke", s.handleGoogleRevoke)
	m.HandleFunc("POST /google/device/code", s.handleGoogleDeviceCode)
	m.HandleFunc("GET /google/.well-known/openid-configuration", s.handleGoogleDiscovery)
	m.HandleFunc("GET /google/v1/userinfo", s.handleGoogleUserinfo)

	s.stdRoutes(m)

	m.HandleFunc("GET /devicelogin", s.handleDeviceLogin)
	m.HandleFunc("POST /devicelogin", s.handleDeviceLoginSubmit)

	m.HandleFunc("GET /introspect", s.handleIntrospect)
	m.HandleFunc("POST /introspect", s.handleIntrospect)
	return m
}

// Handler returns the sandbox as an http.Handler, with fault injection in
// front of it.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.log.Debug("idp request", "method", r.Method, "path", r.URL.Path)
		s.serveWithFaults(w, r, s.mux)
	})
}

// Start listens on 127.0.0.1 (or Options.Host) on a free port and serves
// HTTP (HTTPS with Options.TLS) in a goroutine. The sandbox listens beyond loopback only in a test's own
// network namespace.
func (s *Server) Start() error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	if s.httpSrv != nil {
		return errors.New("idp: already started")
	}
	select {
	case <-s.done:
		return errors.New("idp: closed servers cannot be restarted")
	default:
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(s.host, "0"))
	if err != nil {
		return fmt.Errorf("idp: listen on %s: %w", s.host, err)
	}
	s.url = "http://" + ln.Addr().String()
	if s.tls != nil {
		ln = tls.NewListener(ln, s.tls)
		s.url = "https://" + ln.Addr().String()
	}
	s.httpSrv = &http.Server{
		Handler:           s.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
	srv := s.httpSrv
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("idp serve", "err", err)
		}
	}()
	s.log.Info("idp started", "url", s.url)
	return nil
}

// URL returns "http://127.0.0.1:PORT" (or Options.Host, https with
// Options.TLS) once Start has run, "" before.
func (s *Server) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.url
}

// Close stops the server started by Start and wakes requests held by a
// FaultSlow. It is safe to call more than once.
func (s *Server) Close() error {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	select {
	case <-s.done:
	default:
		close(s.done)
	}
	if s.httpSrv == nil {
		return nil
	}
	err := s.httpSrv.Close()
	s.httpSrv = nil
	return err
}

// baseURL is the server's own address as the client sees it: the Start URL,
// or the Host of the request when the handler is served by someone else
// (httptest). Verification URIs and error_uri values use it.
func (s *Server) baseURL(r *http.Request) string {
	if u := s.URL(); u != "" {
		return u
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// AddTenant registers (or replaces) a Microsoft tenant.
func (s *Server) AddTenant(t Tenant) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tt := t
	s.tenants[strings.ToLower(t.ID)] = &tt
}

// AddApp registers (or replaces) an app. The sandbox keeps its own copy.
func (s *Server) AddApp(a App) {
	s.mu.Lock()
	defer s.mu.Unlock()
	aa := a
	aa.Secrets = append([]Secret(nil), a.Secrets...)
	aa.RedirectURIs = append([]string(nil), a.RedirectURIs...)
	aa.AppPermissions = append([]string(nil), a.AppPermissions...)
	aa.Certificates = append([]*x509.Certificate(nil), a.Certificates...)
	s.apps[a.ClientID] = &app{App: aa, servicePrincipal: newUUID()}
}

// AddUser registers (or replaces) a user. Email addresses are matched
// case-insensitively, as both providers do.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[userKey(u.Provider, u.Email)] = &user{User: u, objectID: newUUID()}
}

// GrantAdminConsent records that an admin of tenantID consented to the app
// for the whole tenant, which lets users of a tenant with UserConsentDisabled
// sign in to it.
func (s *Server) GrantAdminConsent(clientID, tenantID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.adminConsent[adminConsentKey{clientID, strings.ToLower(tenantID)}] = true
}

// SetRotation switches Microsoft refresh-token rotation (default on). Google
// never rotates.
func (s *Server) SetRotation(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rotation = on
}

// SetAccessTokenLifetime sets the lifetime of new access tokens for both
// providers (default 3599s); expires_in reflects it.
func (s *Server) SetAccessTokenLifetime(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.accessLifetime = d
}

// SetRefreshInactivity sets how long a Microsoft refresh token may go unused
// before it dies with AADSTS700082 (default 90 days).
func (s *Server) SetRefreshInactivity(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshInactivity = d
}

// SetDeviceInterval sets the polling interval, in seconds, returned by both
// device endpoints and enforced with slow_down (default 5).
func (s *Server) SetDeviceInterval(seconds int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.deviceInterval = seconds
}

// RevokeConsent withdraws the user's consent for the app, as a user or an
// admin does in the account portal. The next refresh fails: Microsoft with
// invalid_grant AADSTS65001, Google with invalid_grant "Token has been expired
// or revoked.". Google also stops accepting the grant's access tokens at
// once; Microsoft access tokens, being self-contained JWTs, stay valid until
// they expire.
func (s *Server) RevokeConsent(clientID, email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revokeConsentLocked(clientID, email)
}

// RequireMFA makes a conditional-access policy demand MFA for the user: every
// Microsoft grant obtained before this call fails its next refresh with
// invalid_grant AADSTS50076. An interactive sign-in afterwards satisfies it.
func (s *Server) RequireMFA(email string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mfaSince[strings.ToLower(email)] = s.nextSeq()
}

// SetSignInFrequency sets a conditional-access sign-in frequency: a Microsoft
// refresh whose grant's sign-in is older than d fails with AADSTS70043.
// Zero turns the policy off (the default).
func (s *Server) SetSignInFrequency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.signInFrequency = d
}

// ExpireSecrets makes all of the app's client secrets expired, so that
// Microsoft answers AADSTS7000222 (and Google invalid_client).
func (s *Server) ExpireSecrets(clientID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[clientID]
	if a == nil {
		return
	}
	past := s.clock.Now().Add(-time.Second)
	for i := range a.Secrets {
		a.Secrets[i].Expires = past
	}
}

// RefreshRecord is one refresh_token grant request seen by a token endpoint.
type RefreshRecord struct {
	Provider     provider.Type
	ClientID     string
	RefreshToken string
	At           time.Time
	// Outcome is "ok" or the OAuth error code ("invalid_grant", ...).
	Outcome string
	// AADSTS is Microsoft's numeric error code when Outcome is an error
	// (0 for Google and for "ok").
	AADSTS int
}

// Refreshes returns every refresh_token grant request that reached a token
// endpoint (once the client was identified), in order.
func (s *Server) Refreshes() []RefreshRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]RefreshRecord(nil), s.refreshes...)
}

// TokenRequests counts the token-endpoint requests (both providers) that carried
// the given grant_type, successful or not.
func (s *Server) TokenRequests(grantType string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tokenRequests[grantType]
}

// waitOrDone sleeps d unless the request is cancelled or the server closes
// first. It reports whether the full delay elapsed.
func (s *Server) waitOrDone(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}
