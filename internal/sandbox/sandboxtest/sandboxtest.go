// Package sandboxtest is the one way a test stands up the sandbox: the
// identity provider with its world, the mail servers it asks for, and a
// token store holding live tokens. Options compose:
//
//	e := sandboxtest.New(t,
//		sandboxtest.IMAP(provider.Microsoft),
//		sandboxtest.Authorized("support", provider.Microsoft))
//	addr := e.IMAP[provider.Microsoft].Addr[mailauth.ImplicitTLS]
//
// Everything is stopped, closed and removed when the test ends. Only tests
// and the demo import this package; the programs a site installs never do.
package sandboxtest

import (
	"context"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"mailtokens/internal/clock"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/apitest"
	"mailtokens/internal/sandbox/dovecot"
	"mailtokens/internal/sandbox/gmaild"
	"mailtokens/internal/sandbox/graphd"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/pop3d"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/testenv/pgtest"
	"mailtokens/internal/tokenstore"
)

// Epoch is where a fake clock starts when a test has no reason to pick a
// time.
var Epoch = idptest.Epoch

// Clerk is the mailbox that logs in with a password (LOGIN, PLAIN, USER and
// PASS) in a world made with [Passwords].
const (
	Clerk         = "clerk@contoso.example"
	ClerkPassword = "clerk password"
)

// Env is the sandbox a test runs against: the provider and its world, mail
// servers and a store.
type Env struct {
	// The provider, its world, its clock (nil on real time), the Directory
	// the mail servers ask and the servers' TLS certificate.
	*idptest.Sandbox
	// Dir is the test's directory: the store's files and CAFile are in it.
	Dir string
	// CAFile holds the certificate of the CA that signed Cert, for task
	// files (MAILBOX_TLS_CA_FILE, MAIL_TLS_CA_FILE).
	CAFile string
	// The mail servers the options asked for, by style, each listening on
	// every mode.
	IMAP map[provider.Type]*Listening[*imapd.Server]
	SMTP map[provider.Type]*Listening[*smtpd.Server]
	POP3 map[provider.Type]*Listening[*pop3d.Server]
	// Graph is the Graph-like mail API over IMAP[provider.Microsoft]'s
	// mailboxes (nil without [Graph]); GraphURL is its base URL, under
	// which requests go to /v1.0/users/….
	Graph    *graphd.Server
	GraphURL string
	// GmailAPI is the Gmail-API-like server over IMAP[provider.Google]'s
	// mailboxes (nil without [GmailAPI]); GmailAPIURL is its base URL,
	// under which requests go to /gmail/v1/users/… and
	// /upload/gmail/v1/users/….
	GmailAPI    *gmaild.Server
	GmailAPIURL string
	// Store is open for the test (nil without [Store] or [Authorized]); its
	// files are StorePath and KeyFile.
	Store              *tokenstore.Store
	StorePath, KeyFile string
}

// Listening is a mail server and its loopback address for each mode
// (ImplicitTLS, StartTLS, RequireStartTLS, Plain).
type Listening[S any] struct {
	Server S
	Addr   map[mailauth.Mode]string
}

// Option is one part of the world.
type Option func(*config)

type config struct {
	sandbox   idptest.Options
	imap      map[provider.Type][]func(*imapd.Options)
	smtp      map[provider.Type][]func(*smtpd.Options)
	pop3      map[provider.Type][]func(*pop3d.Options)
	graph     []func(*graphd.Options)
	withGraph bool
	gmail     []func(*gmaild.Options)
	withGmail bool
	store     bool
	tokens    []token
	shared    bool
	passwords bool
	storePath string
}

type token struct {
	name     string
	provider provider.Type
	scopes   []string
}

// FakeClock puts the provider and the store on a [clock.Fake] reading
// start: Env.Clock. The mail servers keep real time unless an edit
// function gives them the clock.
func FakeClock(start time.Time) Option {
	return func(c *config) { c.sandbox.Start = start }
}

// RedirectURIs registers more redirect URIs for the world's apps, such as
// a loopback callback (any port matches at both providers).
func RedirectURIs(uris ...string) Option {
	return func(c *config) { c.sandbox.RedirectURIs = append(c.sandbox.RedirectURIs, uris...) }
}

// DeviceInterval sets the device flow's polling interval in seconds.
func DeviceInterval(seconds int) Option {
	return func(c *config) { c.sandbox.DeviceInterval = seconds }
}

// IMAP starts an IMAP server in style's dialect; edit functions change its
// options after the fixture has filled in Style, Directory and TLS.
func IMAP(style provider.Type, edit ...func(*imapd.Options)) Option {
	return func(c *config) { c.imap[style] = append(c.imap[style], edit...) }
}

// SMTP starts an SMTP server in style's dialect, as [IMAP] does.
func SMTP(style provider.Type, edit ...func(*smtpd.Options)) Option {
	return func(c *config) { c.smtp[style] = append(c.smtp[style], edit...) }
}

// POP3 starts a POP3 server in style's dialect, as [IMAP] does.
func POP3(style provider.Type, edit ...func(*pop3d.Options)) Option {
	return func(c *config) { c.pop3[style] = append(c.pop3[style], edit...) }
}

// needIMAP starts the IMAP server in style's dialect, with the options
// the fixture fills in, unless an [IMAP] option starts it already.
func (c *config) needIMAP(style provider.Type) {
	if _, ok := c.imap[style]; !ok {
		c.imap[style] = nil
	}
}

// Graph starts the Graph-like mail API (graphd) over the Microsoft-style
// IMAP server's mailboxes, starting that server if no [IMAP] option did,
// on the provider's clock; the world's Microsoft mailboxes exist from the
// start (Graph answers 404 for a mailbox it does not know). Edit
// functions change its options after the fixture has filled them in.
func Graph(edit ...func(*graphd.Options)) Option {
	return func(c *config) {
		c.withGraph = true
		c.graph = append(c.graph, edit...)
		c.needIMAP(provider.Microsoft)
	}
}

// GmailAPI starts the Gmail-API-like server (gmaild) over the
// Google-style IMAP server's mailboxes, starting that server if no [IMAP]
// option did, on the provider's clock; the world's Google user's mailbox
// exists from the start. Edit functions change its options after the
// fixture has filled them in.
func GmailAPI(edit ...func(*gmaild.Options)) Option {
	return func(c *config) {
		c.withGmail = true
		c.gmail = append(c.gmail, edit...)
		c.needIMAP(provider.Google)
	}
}

// Store opens a token store in the test's directory, on the world's
// clock, with a provider HTTP client.
func Store() Option { return func(c *config) { c.store = true } }

// Authorized opens the store ([Store]) and stores a live token under name
// for the world's user at the provider typ, as if an admin had clicked
// Get Email Token.
func Authorized(name string, typ provider.Type) Option {
	return func(c *config) {
		c.store = true
		c.tokens = append(c.tokens, token{name: name, provider: typ})
	}
}

// AuthorizedFor is [Authorized] with the token's scopes: Graph's, say,
// for a token of its own beside the mail servers' one.
func AuthorizedFor(name string, typ provider.Type, scopes ...string) Option {
	return func(c *config) {
		c.store = true
		c.tokens = append(c.tokens, token{name: name, provider: typ, scopes: scopes})
	}
}

// StoreAt puts the store at path (a PostgreSQL URL, say, on a server the
// test stops and starts) instead of the test's directory or pgtest's
// shared server.
func StoreAt(path string) Option { return func(c *config) { c.storePath = path } }

// SharedMailbox grants the world's Microsoft user Full Access to the
// world's shared mailbox.
func SharedMailbox() Option { return func(c *config) { c.shared = true } }

// Passwords lets [Clerk] log in with [ClerkPassword].
func Passwords() Option { return func(c *config) { c.passwords = true } }

// New stands up the sandbox for t.
func New(t testing.TB, opts ...Option) *Env {
	t.Helper()
	c := &config{imap: map[provider.Type][]func(*imapd.Options){}, smtp: map[provider.Type][]func(*smtpd.Options){},
		pop3: map[provider.Type][]func(*pop3d.Options){}}
	for _, o := range opts {
		o(c)
	}
	w := &Env{Sandbox: idptest.New(t, c.sandbox), Dir: t.TempDir(),
		IMAP: map[provider.Type]*Listening[*imapd.Server]{}, SMTP: map[provider.Type]*Listening[*smtpd.Server]{},
		POP3: map[provider.Type]*Listening[*pop3d.Server]{}}
	if c.shared {
		w.Directory.GrantFullAccess(w.World.MSSharedMailbox, w.World.MSUser)
	}
	if c.passwords {
		w.Directory.SetPassword(Clerk, ClerkPassword)
	}
	var err error
	if w.CAFile, _, _, err = w.Cert.WriteFiles(w.Dir); err != nil {
		t.Fatal(err)
	}
	servers := func(style provider.Type) mailauth.ServerOptions {
		return mailauth.ServerOptions{Style: style, Directory: w.Directory, TLS: w.Cert.ServerTLS()}
	}
	for style, edits := range c.imap {
		w.IMAP[style] = start(t, imapd.Options{ServerOptions: servers(style)}, edits, imapd.New)
	}
	for style, edits := range c.smtp {
		w.SMTP[style] = start(t, smtpd.Options{ServerOptions: servers(style)}, edits, smtpd.New)
	}
	for style, edits := range c.pop3 {
		w.POP3[style] = start(t, pop3d.Options{ServerOptions: servers(style)}, edits,
			func(o pop3d.Options) (*pop3d.Server, error) { return pop3d.New(o), nil })
	}
	if c.withGraph {
		w.startGraph(t, c.graph)
	}
	if c.withGmail {
		w.startGmail(t, c.gmail)
	}
	w.StorePath, w.KeyFile = c.storePath, filepath.Join(w.Dir, "tokens.key")
	if w.StorePath == "" {
		w.StorePath = pgtest.StorePath(t, filepath.Join(w.Dir, "tokens.db"))
	}
	if c.store {
		w.Store = w.OpenStore(t)
		for _, tok := range c.tokens {
			w.Authorize(t, w.Store, tok.name, tok.provider, tok.scopes...)
		}
	}
	return w
}

// server is what the sandbox's mail servers have in common.
type server interface {
	Listen(mailauth.Mode) (string, error)
	Close() error
}

// start makes a server from opt changed by edits, listens on every mode
// and closes it when t ends.
func start[O any, S server](t testing.TB, opt O, edits []func(*O), newServer func(O) (S, error)) *Listening[S] {
	t.Helper()
	s := apitest.New(t, opt, edits, newServer)
	l := &Listening[S]{Server: s, Addr: map[mailauth.Mode]string{}}
	for _, m := range []mailauth.Mode{mailauth.ImplicitTLS, mailauth.StartTLS, mailauth.RequireStartTLS, mailauth.Plain} {
		var err error
		if l.Addr[m], err = s.Listen(m); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func (w *Env) startGraph(t testing.TB, edits []func(*graphd.Options)) {
	t.Helper()
	im := w.IMAP[provider.Microsoft].Server
	for _, m := range []string{w.World.MSUser, w.World.MSOtherUser, w.World.MSSharedMailbox} {
		im.AddMailbox(m)
	}
	w.Graph, w.GraphURL = apitest.Start(t, graphd.Options{Directory: w.Directory, IMAP: im, Clock: w.serverClock()}, edits, graphd.New)
}

func (w *Env) startGmail(t testing.TB, edits []func(*gmaild.Options)) {
	t.Helper()
	im := w.IMAP[provider.Google].Server
	im.AddMailbox(w.World.GoogleUser)
	w.GmailAPI, w.GmailAPIURL = apitest.Start(t, gmaild.Options{Directory: w.Directory, IMAP: im, Clock: w.serverClock()}, edits, gmaild.New)
}

// serverClock is the world's clock for a server's Options: nil on real
// time, not a nil *clock.Fake, which the server would take for a clock.
func (w *Env) serverClock() clock.Clock {
	if w.Clock == nil {
		return nil
	}
	return w.Clock
}

// OpenStore opens a Store on the world's store files, on the world's
// clock; it is closed when t ends. A second Store on the same files is
// what another process would see.
func (w *Env) OpenStore(t testing.TB) *tokenstore.Store {
	t.Helper()
	opt := tokenstore.Options{Path: w.StorePath, KeyFile: w.KeyFile, HTTPClient: provider.NewHTTPClient(10 * time.Second)}
	if w.Clock != nil {
		opt.Now = w.Clock.Now
	}
	st, err := tokenstore.Open(context.Background(), opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// Authorize stores a live token under name in st for the world's user at
// the provider typ, creating the token if it is absent.
func (w *Env) Authorize(t testing.TB, st *tokenstore.Store, name string, typ provider.Type, scopes ...string) *tokenstore.Token {
	t.Helper()
	tok, err := tokens.Authorize(context.Background(), st, w.IDP, w.World, name, typ, scopes...)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// Dovecot starts a private Dovecot with TLS whose IMAP, POP3 and
// submission services check the world's tokens at the provider; it skips
// (or fails, see the dovecot package) the test where Dovecot is missing.
func (w *Env) Dovecot(t testing.TB) *dovecot.Server {
	t.Helper()
	return dovecot.Start(t, dovecot.Options{IntrospectionURL: w.IDP.URL() + "/introspect", TLS: true})
}

// HostPort splits a listener's address for a task file or a
// mailserver.Server.
func HostPort(t testing.TB, addr string) (string, int) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	n, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	return host, n
}
