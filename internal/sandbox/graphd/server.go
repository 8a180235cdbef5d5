package graphd

import (
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/sandbox/httpserve"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
)

// Options configures a Server.
type Options struct {
	// Directory checks tokens and Full Access grants. Required.
	Directory *mailauth.Directory
	// IMAP holds the mailboxes, in the Microsoft style (its folder
	// names). Required.
	IMAP *imapd.Server
	// Host is the address to listen on: 127.0.0.1 when empty.
	Host string
	// TLS, when set, makes Listen serve HTTPS.
	TLS *tls.Config
	// Logger gets a line per request; nil discards.
	Logger *slog.Logger
	// Clock is the time for token expiry messages, the request budget
	// and Retry-After; nil means real time. Give it the provider's clock.
	Clock clock.Clock

	// AppScope is RBAC for Applications (or an application access
	// policy): for an app's client ID, the mailboxes its app-only tokens
	// may reach; an app not listed reaches every mailbox, as an app with
	// Mail.* application permissions does in a tenant without either.
	// Delegated tokens are not affected. SetAppScope changes it later.
	AppScope map[string][]string
	// RESTDisabled mailboxes answer 404 MailboxNotEnabledForRESTAPI (an
	// on-premises or inactive mailbox).
	RESTDisabled []string
	// MaxConcurrent is how many requests one app may have in flight
	// against one mailbox: 4 when zero, as Outlook's limit.
	MaxConcurrent int
	// Budget is how many requests one app may make against one mailbox in
	// BudgetWindow: 10,000 in 10 minutes when zero, as Outlook's limit.
	Budget       int
	BudgetWindow time.Duration
	// PageSize is the delta page size without Prefer: odata.maxpagesize
	// (10 when zero); MaxPageSize caps what a client may ask for (1000).
	PageSize, MaxPageSize int
}

// Server is the Graph-like mail API over an imapd.Server's mailboxes.
type Server struct {
	opt   Options
	log   *slog.Logger
	clock clock.Clock
	mux   *http.ServeMux
	web   httpserve.Server

	mu       sync.Mutex
	appScope map[string]map[string]bool // client ID -> mailboxes
	disabled map[string]bool
	sent     []Sent
	throttle throttle
	delta    deltaStore
}

// New returns a Server that is not listening yet.
func New(opt Options) (*Server, error) {
	if opt.Directory == nil || opt.IMAP == nil {
		return nil, errors.New("graphd: Options.Directory and Options.IMAP are required")
	}
	if opt.MaxConcurrent <= 0 {
		opt.MaxConcurrent = 4
	}
	if opt.Budget <= 0 {
		opt.Budget = 10000
	}
	if opt.BudgetWindow <= 0 {
		opt.BudgetWindow = 10 * time.Minute
	}
	if opt.PageSize <= 0 {
		opt.PageSize = 10
	}
	if opt.MaxPageSize <= 0 {
		opt.MaxPageSize = 1000
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: opt, log: log.With("server", "graphd"), clock: opt.Clock,
		appScope: map[string]map[string]bool{}, disabled: map[string]bool{}}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	for app, boxes := range opt.AppScope {
		s.SetAppScope(app, boxes...)
	}
	for _, m := range opt.RESTDisabled {
		s.disabled[mailauth.Normalize(m)] = true
	}
	s.throttle.init()
	s.delta.init()
	s.mux = s.routes()
	return s, nil
}

func (s *Server) now() time.Time { return s.clock.Now() }

// SetAppScope limits the app-only tokens of clientID to mailboxes (RBAC
// for Applications); no mailboxes lifts the limit.
func (s *Server) SetAppScope(clientID string, mailboxes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(mailboxes) == 0 {
		delete(s.appScope, strings.ToLower(clientID))
		return
	}
	m := map[string]bool{}
	for _, b := range mailboxes {
		m[mailauth.Normalize(b)] = true
	}
	s.appScope[strings.ToLower(clientID)] = m
}

// DisableREST makes mailbox answer 404 MailboxNotEnabledForRESTAPI.
func (s *Server) DisableREST(mailbox string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.disabled[mailauth.Normalize(mailbox)] = true
}

// Handler serves the API (for httptest or a server of the caller's).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Listen starts serving on a free port of Options.Host (127.0.0.1), over
// HTTPS when Options.TLS is set, and returns the base URL (no /v1.0).
func (s *Server) Listen() (string, error) {
	url, err := s.web.Listen("graphd", s.opt.Host, s.opt.TLS, s.Handler())
	if err != nil {
		return "", err
	}
	s.log.Info("listening", "url", url)
	return url, nil
}

// URL is the base URL Listen returned ("" before): requests go to
// URL()+"/v1.0/users/…".
func (s *Server) URL() string { return s.web.URL() }

// Close stops the server and drops its connections, and lets requests
// waiting on a Hold go on.
func (s *Server) Close() error {
	if !s.web.Listening() {
		return nil
	}
	s.throttle.releaseHold()
	return s.web.Close()
}

// serve gives every answer its request-id and client-request-id headers,
// applies injected faults and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	id := newRequestID()
	w.Header().Set("request-id", id)
	cid := r.Header.Get("client-request-id")
	if cid == "" {
		cid = id
	}
	w.Header().Set("client-request-id", cid)
	if e, ok := s.throttle.faults.Next(); ok {
		s.writeError(w, e)
		return
	}
	s.log.Info("request", "method", r.Method, "path", r.URL.Path)
	s.mux.ServeHTTP(w, r)
}

func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
