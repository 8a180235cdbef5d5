package gmaild

import (
	"crypto/tls"
	"errors"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/sandbox/httpserve"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
)

// Options configures a Server.
type Options struct {
	// Directory checks tokens. Required.
	Directory *mailauth.Directory
	// IMAP holds the mailboxes, in the Google style (its folder names:
	// "[Gmail]/Sent Mail", "[Gmail]/Trash", …). Required.
	IMAP *imapd.Server
	// Host is the address to listen on: 127.0.0.1 when empty.
	Host string
	// TLS, when set, makes Listen serve HTTPS.
	TLS *tls.Config
	// Logger gets a line per request; nil discards.
	Logger *slog.Logger
	// Clock is the time for the quota and Retry-After; nil means real
	// time. Give it the provider's clock.
	Clock clock.Clock
	// UserQuota is how many quota units one user may spend in
	// QuotaWindow: 15,000 a minute when zero, as Gmail's per-user rate
	// limit (developers.google.com, "Usage limits"). Methods cost what
	// Gmail's table says (send 100, get 5, history 2, …).
	UserQuota   int
	QuotaWindow time.Duration
	// FirstHistoryID is where every mailbox's history ids start (1000
	// when zero).
	FirstHistoryID uint64
}

// Server is the Gmail-API-like mail API over an imapd.Server's mailboxes.
type Server struct {
	opt   Options
	log   *slog.Logger
	clock clock.Clock
	mux   *http.ServeMux
	web   httpserve.Server

	mu        sync.Mutex
	sent      []Sent
	mailboxes map[string]*mailbox
	throttle  throttle
}

// New returns a Server that is not listening yet.
func New(opt Options) (*Server, error) {
	if opt.Directory == nil || opt.IMAP == nil {
		return nil, errors.New("gmaild: Options.Directory and Options.IMAP are required")
	}
	if opt.UserQuota <= 0 {
		opt.UserQuota = 15000
	}
	if opt.QuotaWindow <= 0 {
		opt.QuotaWindow = time.Minute
	}
	if opt.FirstHistoryID == 0 {
		opt.FirstHistoryID = 1000
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{opt: opt, log: log.With("server", "gmaild"), clock: opt.Clock, mailboxes: map[string]*mailbox{}}
	if s.clock == nil {
		s.clock = clock.Real{}
	}
	s.throttle.init()
	s.mux = s.routes()
	return s, nil
}

func (s *Server) now() time.Time { return s.clock.Now() }

// Handler serves the API (for httptest or a server of the caller's).
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serve) }

// Listen starts serving on a free port of Options.Host (127.0.0.1), over
// HTTPS when Options.TLS is set, and returns the base URL: requests go to
// URL+"/gmail/v1/users/…" and URL+"/upload/gmail/v1/users/…", as to
// https://gmail.googleapis.com.
func (s *Server) Listen() (string, error) {
	url, err := s.web.Listen("gmaild", s.opt.Host, s.opt.TLS, s.Handler())
	if err != nil {
		return "", err
	}
	s.log.Info("listening", "url", url)
	return url, nil
}

// URL is the base URL Listen returned ("" before).
func (s *Server) URL() string { return s.web.URL() }

// Close stops the server and drops its connections.
func (s *Server) Close() error { return s.web.Close() }

// serve applies injected faults and routes.
func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	if e, ok := s.throttle.faults.Next(); ok {
		s.writeError(w, e)
		return
	}
	s.log.Info("request", "method", r.Method, "path", r.URL.Path)
	s.mux.ServeHTTP(w, r)
}

// routes maps every path to its handler.
func (s *Server) routes() *http.ServeMux {
	mux := http.NewServeMux()
	const u = "/gmail/v1/users/{user}"
	handle := func(pattern string, m method, h func(*call) *apiError) {
		mux.HandleFunc(pattern, s.api(m, h))
	}
	handle("GET "+u+"/profile", mGetProfile, s.getProfile)
	handle("GET "+u+"/labels", mLabelsList, s.listLabels)
	handle("GET "+u+"/messages", mMessagesList, s.listMessages)
	handle("GET "+u+"/messages/{id}", mMessagesGet, s.getMessage)
	handle("POST "+u+"/messages/{id}/modify", mMessagesModify, s.modifyMessage)
	handle("POST "+u+"/messages/{id}/trash", mMessagesTrash, s.trashMessage)
	handle("POST "+u+"/messages/{id}/untrash", mMessagesTrash, s.untrashMessage)
	handle("DELETE "+u+"/messages/{id}", mMessagesDelete, s.deleteMessage)
	handle("GET "+u+"/history", mHistoryList, s.listHistory)
	handle("POST "+u+"/messages/send", mMessagesSend, s.sendJSON)
	handle("POST /upload"+u+"/messages/send", mMessagesSend, s.sendUpload)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) { s.writeError(w, errNoRoute) })
	return mux
}
