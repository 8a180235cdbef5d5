// Package admin is evadmin's web utility, "Access Tokens for 3rd Party
// Email Services": server-rendered pages for adding tokens, getting them
// from the provider (browser redirect, device code, paste, app-only),
// watching their health, testing them against a mail server, and revoking
// or deleting them. One handler per file, named after the page and action
// (noun_verb, a flow's handlers under one prefix); what several handlers
// share has a file of its own, such as withToken in lookup.go.
package admin

import (
	"context"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/tokenstore"
)

// Config is what the web utility needs to know about where it runs.
// Requests to the providers go through the store's HTTP client
// ([tokenstore.Options] HTTPClient).
type Config struct {
	// PublicURL is how admins reach the utility; the OAuth2 redirect URI
	// is PublicURL + "/oauth2/callback".
	PublicURL string
	// Secure marks cookies Secure (HTTPS in front or TLS here).
	Secure bool
	// SetupToken, when set and no admin exists, lets /setup?token=…
	// create the first admin.
	SetupToken string
	// MetricsToken, when set, lets Prometheus read /metrics with
	// "Authorization: Bearer <token>" instead of a session.
	MetricsToken string
	// Tester runs the Test button; nil hides it.
	Tester Tester
	// TrustedProxies are the reverse proxies whose X-Forwarded-For names
	// the client; from anyone else the header is ignored.
	TrustedProxies []netip.Prefix
	Logger         *slog.Logger
	Now            func() time.Time
}

// Server is the web utility.
type Server struct {
	cfg Config
	// healthErr is what /healthz last said was wrong ("" = fine).
	healthMu  sync.Mutex
	healthErr string
	store     *tokenstore.Store
	accounts  *accounts.Accounts
	log       *slog.Logger
	now       func() time.Time
	pages     *pages
	handler   http.Handler
	routes    []Route
	pending   *oneUse[pendingAuth]  // started sign-ins by OAuth2 state
	devices   *deviceFlows          // device-code sign-ins in progress
	confirms  *oneUse[confirmation] // guarded actions' confirmations by key
	flashes   *flashes
	ctx       context.Context // ends with Close: background device polls stop
	cancel    context.CancelFunc
	redirect  string
}

// Route is one entry of the route table. Public routes work without a
// session; every other route requires one, and a CSRF token when it
// changes state.
type Route struct {
	Pattern string // net/http pattern, e.g. "POST /tokens/{id}/refresh"
	Public  bool
}

// New builds the web utility over an open store.
func New(cfg Config, store *tokenstore.Store) (*Server, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	p, err := loadPages()
	if err != nil {
		return nil, err
	}
	s := &Server{
		cfg:      cfg,
		store:    store,
		accounts: accounts.New(store.DB(), cfg.Now),
		log:      cfg.Logger,
		now:      cfg.Now,
		pages:    p,
		pending:  newOneUse[pendingAuth](stateLifetime),
		devices:  newDeviceFlows(),
		confirms: newOneUse[confirmation](confirmLifetime),
		flashes:  newFlashes(),
		redirect: cfg.PublicURL + "/oauth2/callback",
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.handler = s.buildRoutes()
	return s, nil
}

// Handler serves the utility.
func (s *Server) Handler() http.Handler { return s.handler }

// Routes is the route table, for tests that walk it.
func (s *Server) Routes() []Route { return s.routes }

// RedirectURI is the OAuth2 redirect URI to register at the providers.
func (s *Server) RedirectURI() string { return s.redirect }

// Close stops background work (device-code polling).
func (s *Server) Close() { s.cancel() }

// handlerFunc is a handler that runs with a session.
type handlerFunc func(w http.ResponseWriter, r *http.Request, sess *accounts.Session)

func (s *Server) buildRoutes() http.Handler {
	mux := http.NewServeMux()
	public := func(pattern string, h http.HandlerFunc) {
		s.routes = append(s.routes, Route{Pattern: pattern, Public: true})
		mux.HandleFunc(pattern, h)
	}
	private := func(pattern string, h handlerFunc) {
		s.routes = append(s.routes, Route{Pattern: pattern})
		mux.Handle(pattern, s.requireSession(h))
	}

	public("GET /login", s.loginShow)
	public("POST /login", s.loginCheck)
	public("GET /setup", s.setupShow)
	public("POST /setup", s.setupCreate)
	public("GET /oauth2/callback", s.oauth2Callback)
	public("GET /healthz", s.healthz)
	public("GET /static/", s.static)
	// /metrics takes a session or the metrics bearer token; it checks
	// either itself.
	s.routes = append(s.routes, Route{Pattern: "GET /metrics"})
	mux.HandleFunc("GET /metrics", s.metrics)

	private("POST /logout", s.logout)
	private("GET /{$}", s.tokenList)
	private("GET /tokens/new", s.tokenNew)
	private("POST /tokens", s.tokenCreate)
	private("GET /tokens/{id}", s.withToken(s.tokenShow))
	private("GET /tokens/{id}/edit", s.withToken(s.tokenEdit))
	private("POST /tokens/{id}/edit", s.withToken(s.tokenUpdate))
	private("POST /tokens/{id}/authorize", s.withToken(s.oauth2Authorize))
	private("POST /tokens/{id}/device", s.withToken(s.deviceStart))
	private("GET /tokens/{id}/device", s.withToken(s.deviceShow))
	private("POST /tokens/{id}/device/cancel", s.withToken(s.deviceCancel))
	private("GET /tokens/{id}/paste", s.withToken(s.pasteShow))
	private("POST /tokens/{id}/paste", s.withToken(s.pasteSave))
	private("POST /tokens/{id}/apponly", s.withToken(s.appOnlyGet))
	private("GET /tokens/{id}/account", s.withToken(s.accountShow))
	private("POST /tokens/{id}/account", s.withToken(s.accountConfirm))
	private("POST /tokens/{id}/refresh", s.withToken(s.tokenRefresh))
	private("GET /tokens/{id}/test", s.withToken(s.testShow))
	private("POST /tokens/{id}/test", s.withToken(s.testRun))
	private("POST /tokens/{id}/default", s.withToken(s.tokenDefault))
	private("GET /tokens/{id}/revoke", s.withToken(s.tokenRevokeConfirm))
	private("POST /tokens/{id}/revoke", s.withToken(s.tokenRevoke))
	private("GET /tokens/{id}/delete", s.withToken(s.tokenDeleteConfirm))
	private("POST /tokens/{id}/delete", s.withToken(s.tokenDelete))
	private("GET /events", s.eventsList)
	private("GET /admins", s.adminList)
	private("GET /admins/password", s.adminPasswordEdit)
	private("POST /admins/password", s.adminPasswordUpdate)
	private("GET /admins/{id}/delete", s.withAdmin(s.adminDeleteConfirm))
	private("POST /admins/{id}/delete", s.withAdmin(s.adminDelete))

	mux.HandleFunc("/", s.notFound)
	var h http.Handler = mux
	// Browsers say where a request comes from; a cross-site POST is refused
	// before any handler runs. The per-session CSRF token is checked too,
	// for browsers that send neither Sec-Fetch-Site nor Origin.
	cop := http.NewCrossOriginProtection()
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && u.Host != "" {
		cop.AddTrustedOrigin(u.Scheme + "://" + u.Host)
	}
	cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.renderError(w, r, http.StatusForbidden, "This request came from another site and was refused. Reload the page and try again.")
	}))
	h = cop.Handler(h)
	return s.securityHeaders(h)
}
