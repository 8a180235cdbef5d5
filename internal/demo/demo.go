// Package demo builds the world `make demo` runs in: a sandbox identity
// provider standing in for Microsoft and Google, sandbox IMAP, POP3 and
// SMTP servers that accept its tokens (or, with Options.Dovecot, a private
// Dovecot that checks them with the provider), a token store with a demo
// admin and two tokens not yet authorized, task files for evadmin, evmail
// and batchmail, and mail waiting in the mailbox and in the outbox.
// Everything lives in one directory (Dovecot's in its own) and on loopback;
// nothing touches data/.
package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"mailtokens/internal/admin/accounts"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/dovecot"
	"mailtokens/internal/sandbox/gmaild"
	"mailtokens/internal/sandbox/graphd"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/pop3d"
	"mailtokens/internal/sandbox/smtpd"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/tokenstore"
)

// Names the console and the tests refer to.
const (
	AdminName      = "demo"
	MicrosoftToken = "Contoso support"
	GoogleToken    = "Gmail support"
	// GraphToken is the Microsoft token for the Graph tasks: Graph's
	// scopes, a resource of their own.
	GraphToken = "Contoso Graph"
	// GraphFolder is the folder the Graph receiving task reads.
	GraphFolder = "From Graph"
	marker      = ".mailtokens-demo"
)

// Options say which demo to set up.
type Options struct {
	// Dir holds the store, the task files, the inbox and the outbox. An
	// earlier demo there is wiped; any other content makes Setup refuse.
	Dir string
	// Listen is where evadmin should listen; another free port is taken if
	// it is busy.
	Listen string
	// Logger gets the sandbox servers' logs; nil discards them.
	Logger *slog.Logger
	// Dovecot puts a private Dovecot (IMAP, POP3, submission, with TLS) in
	// place of the sandbox's mail servers. Setup fails before changing
	// anything when Dovecot cannot run here.
	Dovecot bool
}

// World is a running demo world.
type World struct {
	Dir           string
	URL           string // evadmin's PUBLIC_URL
	Listen        string // evadmin's LISTEN
	AdminPassword string
	Sandbox       idp.World
	IDP           *idp.Server
	// The sandbox's mail servers; nil with Options.Dovecot.
	IMAP *imapd.Server
	POP3 *pop3d.Server
	SMTP *smtpd.Server
	// Dovecot is the private Dovecot of Options.Dovecot, else nil. Its
	// submission relays to RelayAddr, which saves each message back into
	// Dovecot's mailbox of its recipient.
	Dovecot   *dovecot.Server
	RelayAddr string
	// Graph is the sandbox's Graph-like mail API over IMAP's mailboxes
	// (nil with Options.Dovecot); GraphURL its base URL.
	Graph    *graphd.Server
	GraphURL string
	// GmailIMAP holds the Google-like mailboxes behind GmailAPI, the
	// sandbox's Gmail-API-like server (both nil with Options.Dovecot).
	GmailIMAP   *imapd.Server
	GmailAPI    *gmaild.Server
	GmailAPIURL string
	// The mail servers the workers use, whichever they are.
	IMAPAddr string // TLS
	POP3Addr string // TLS
	SMTPAddr string // STARTTLS
	// CAFile is the CA the mail servers' certificates are signed by; the
	// task files trust it.
	CAFile string
	// The task files.
	EvadminConf, EvmailConf, BatchmailConf string
	// The Graph and Gmail API tasks' files (empty with Options.Dovecot).
	EvmailGraphConf, BatchmailGraphConf string
	EvmailGmailConf, BatchmailGmailConf string
	// Where evmail delivers and batchmail queues.
	Inbox, Outbox string
	// Where the Graph and Gmail API tasks deliver and queue.
	GraphInbox, GraphOutbox string
	GmailInbox, GmailOutbox string
	// Messages waiting at the start.
	WaitingInMailbox, WaitingInOutbox int
	// Messages waiting for the Graph tasks: in GraphFolder, in GraphOutbox;
	// and for the Gmail API tasks: in the Gmail INBOX, in GmailOutbox.
	WaitingInGraphFolder, WaitingInGraphOutbox int
	WaitingInGmail, WaitingInGmailOutbox       int

	relay *relay
}

// dovecotMissing is dovecot.Missing; tests replace it to play a machine
// without Dovecot.
var dovecotMissing = dovecot.Missing

// Setup prepares opt.Dir (wiping an earlier demo there, but nothing else)
// and starts the identity provider and the mail servers.
func Setup(opt Options) (_ *World, err error) {
	if opt.Dovecot {
		// Before anything is wiped or started: the newcomer learns what to
		// install and keeps the earlier demo.
		if err := dovecotMissing(); err != nil {
			return nil, fmt.Errorf("a private Dovecot cannot run here, so nothing was changed: %w", err)
		}
	}
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dir := opt.Dir
	if err := prepareDir(dir); err != nil {
		return nil, err
	}
	w := &World{Dir: dir, Inbox: filepath.Join(dir, "inbox"), Outbox: filepath.Join(dir, "outbox"),
		GraphInbox: filepath.Join(dir, "inbox-graph"), GraphOutbox: filepath.Join(dir, "outbox-graph"),
		GmailInbox: filepath.Join(dir, "inbox-gmail"), GmailOutbox: filepath.Join(dir, "outbox-gmail")}
	defer func() {
		if err == nil {
			return
		}
		if cerr := w.Close(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	w.Listen = freeAddr(opt.Listen)
	_, port, _ := net.SplitHostPort(w.Listen)
	w.URL = "http://localhost:" + port

	w.IDP = idp.New(idp.Options{Logger: log})
	if err := w.IDP.Start(); err != nil {
		return nil, fmt.Errorf("start the sandbox identity provider: %w", err)
	}
	// Loopback redirect URIs match any port at both providers (and the
	// sandbox), as for a real app registered for a local evadmin.
	w.Sandbox = w.IDP.AddWorld("http://localhost/oauth2/callback", "http://127.0.0.1/oauth2/callback")

	if opt.Dovecot {
		err = w.startDovecot(log)
	} else {
		err = w.startSandboxMail(log)
	}
	if err != nil {
		return nil, err
	}

	if err := w.store(); err != nil {
		return nil, err
	}
	if err := w.taskFiles(); err != nil {
		return nil, err
	}
	for i, subject := range []string{"Printer on floor 3 is jammed", "VPN drops every hour", "Request: new laptop for Sam"} {
		if err := w.deliver(w.Sandbox.MSUser, demoMessage("colleague@contoso.example", w.Sandbox.MSUser, subject, i)); err != nil {
			return nil, err
		}
	}
	w.WaitingInMailbox = 3
	if err := w.queue(w.Outbox, []string{"Your ticket #4711 was received", "Your ticket #4712 was received", "Weekly helpdesk report"}, 100); err != nil {
		return nil, err
	}
	w.WaitingInOutbox = 3
	if w.Graph != nil {
		for i, subject := range []string{"Invoice 2026-117 (read over Graph)", "Delivery note (read over Graph)"} {
			if _, err := w.IMAP.Append(w.Sandbox.MSUser, GraphFolder, demoMessage("billing@fabrikam.example", w.Sandbox.MSUser, subject, 200+i)); err != nil {
				return nil, err
			}
		}
		w.WaitingInGraphFolder = 2
		if err := w.queue(w.GraphOutbox, []string{"Your order shipped (sent over Graph)"}, 300); err != nil {
			return nil, err
		}
		w.WaitingInGraphOutbox = 1
	}
	if w.GmailAPI != nil {
		for i, subject := range []string{"Question about my order (read over the Gmail API)", "Thanks! (read over the Gmail API)"} {
			if _, err := w.GmailIMAP.Append(w.Sandbox.GoogleUser, "INBOX", demoMessage("customer@example.net", w.Sandbox.GoogleUser, subject, 400+i)); err != nil {
				return nil, err
			}
		}
		w.WaitingInGmail = 2
		if err := w.queueFrom(w.Sandbox.GoogleUser, w.GmailOutbox, []string{"Re: Question about my order (sent over the Gmail API)"}, 500); err != nil {
			return nil, err
		}
		w.WaitingInGmailOutbox = 1
	}
	return w, nil
}

// startSandboxMail starts the sandbox's IMAP, POP3 and SMTP servers, with
// a throwaway CA in Dir/sandbox-tls.
func (w *World) startSandboxMail(log *slog.Logger) error {
	cert, err := testcert.New()
	if err != nil {
		return err
	}
	tlsDir := filepath.Join(w.Dir, "sandbox-tls")
	if err := os.MkdirAll(tlsDir, 0o700); err != nil {
		return err
	}
	if w.CAFile, _, _, err = cert.WriteFiles(tlsDir); err != nil {
		return err
	}
	directory := mailauth.New(w.IDP.Introspect)
	directory.GrantFullAccess(w.Sandbox.MSSharedMailbox, w.Sandbox.MSUser)
	servers := mailauth.ServerOptions{Style: provider.Microsoft, Directory: directory, TLS: cert.ServerTLS(), Logger: log}
	if w.IMAP, err = imapd.New(imapd.Options{ServerOptions: servers}); err != nil {
		return err
	}
	if w.IMAPAddr, err = w.IMAP.Listen(mailauth.ImplicitTLS); err != nil {
		return err
	}
	w.POP3 = pop3d.New(pop3d.Options{ServerOptions: servers})
	if w.POP3Addr, err = w.POP3.Listen(mailauth.ImplicitTLS); err != nil {
		return err
	}
	// What batchmail sends lands in the sandbox mailbox, where evmail
	// picks it up: the whole loop.
	w.SMTP, err = smtpd.New(smtpd.Options{ServerOptions: servers,
		Deliver: func(rcpt string, raw []byte) {
			w.IMAP.AddMailbox(rcpt)
			w.IMAP.Append(rcpt, "INBOX", raw)
		}})
	if err != nil {
		return err
	}
	if w.SMTPAddr, err = w.SMTP.Listen(mailauth.RequireStartTLS); err != nil {
		return err
	}
	// Microsoft Graph's mail API over the same mailboxes: the Graph tasks
	// send and receive through it.
	w.IMAP.AddMailbox(w.Sandbox.MSUser)
	if w.Graph, err = graphd.New(graphd.Options{Directory: directory, IMAP: w.IMAP, Logger: log}); err != nil {
		return err
	}
	url, err := w.Graph.Listen()
	if err != nil {
		return err
	}
	w.GraphURL = url + "/v1.0"
	// The Gmail API over Google-like mailboxes (no IMAP listener: the
	// demo's Gmail tasks use the API).
	if w.GmailIMAP, err = imapd.New(imapd.Options{ServerOptions: mailauth.ServerOptions{Style: provider.Google, Directory: directory, Logger: log}}); err != nil {
		return err
	}
	w.GmailIMAP.AddMailbox(w.Sandbox.GoogleUser)
	if w.GmailAPI, err = gmaild.New(gmaild.Options{Directory: directory, IMAP: w.GmailIMAP, Logger: log}); err != nil {
		return err
	}
	w.GmailAPIURL, err = w.GmailAPI.Listen()
	return err
}

// startDovecot starts a private Dovecot that checks the sandbox's tokens
// with its introspection endpoint, and the relay that closes the loop:
// what batchmail submits, Dovecot relays to it, and it saves the message
// into Dovecot's mailbox of the recipient, where evmail picks it up.
func (w *World) startDovecot(log *slog.Logger) error {
	r, err := listenRelay()
	if err != nil {
		return err
	}
	w.relay = r
	dc, err := dovecot.Launch(dovecot.Options{IntrospectionURL: w.IDP.URL() + "/introspect", RelayHost: r.Addr(), TLS: true})
	if err != nil {
		return err
	}
	w.Dovecot = dc
	// Dovecot takes any user (its userdb allows all), so mail to any
	// address gets a mailbox and stays in the demo.
	r.serve(func(rcpt string, msg []byte) error { return dc.Save(rcpt, "INBOX", msg) }, log)
	w.RelayAddr = r.Addr()
	w.IMAPAddr, w.POP3Addr, w.SMTPAddr = dc.IMAPSAddr, dc.POP3SAddr, dc.SubmissionAddr
	w.CAFile = dc.CAFile
	return nil
}

// deliver puts a message into user's INBOX on whichever mail server is in
// use.
func (w *World) deliver(user string, msg []byte) error {
	if w.Dovecot != nil {
		return w.Dovecot.Save(user, "INBOX", msg)
	}
	w.IMAP.Append(user, "INBOX", msg)
	return nil
}

// Close stops the mail servers and the identity provider. The relay goes
// before Dovecot, so that no save is under way when Dovecot stops.
func (w *World) Close() error {
	var errs []error
	if w.relay != nil {
		w.relay.Close()
	}
	if w.Dovecot != nil {
		errs = append(errs, w.Dovecot.Stop())
	}
	if w.Graph != nil {
		w.Graph.Close()
	}
	if w.GmailAPI != nil {
		w.GmailAPI.Close()
	}
	if w.GmailIMAP != nil {
		w.GmailIMAP.Close()
	}
	if w.SMTP != nil {
		w.SMTP.Close()
	}
	if w.POP3 != nil {
		w.POP3.Close()
	}
	if w.IMAP != nil {
		w.IMAP.Close()
	}
	if w.IDP != nil {
		w.IDP.Close()
	}
	return errors.Join(errs...)
}

// prepareDir empties an earlier demo directory, refusing a directory that
// is not one (it could be someone's data).
func prepareDir(dir string) error {
	entries, err := os.ReadDir(dir)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	case len(entries) > 0:
		if _, err := os.Stat(filepath.Join(dir, marker)); err != nil {
			return fmt.Errorf("%s exists and is not a demo directory: name another one with --dir", dir)
		}
		if err := os.RemoveAll(dir); err != nil {
			return fmt.Errorf("clear the earlier demo in %s: %w", dir, err)
		}
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, marker), []byte("made by `make demo` (evdemo); removed and made again at each start\n"), 0o600)
}

// freeAddr returns want if nothing listens there (with the port chosen,
// for port 0), else a free port.
func freeAddr(want string) string {
	if l, err := net.Listen("tcp", want); err == nil {
		addr := l.Addr().String()
		l.Close()
		return addr
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return want
	}
	defer l.Close()
	return l.Addr().String()
}

// store creates the token store: the demo admin, and the two tokens,
// configured but not yet authorized.
func (w *World) store() error {
	ctx := context.Background()
	st, err := tokenstore.Open(ctx, tokenstore.Options{Path: filepath.Join(w.Dir, "tokens.db"), KeyFile: filepath.Join(w.Dir, "tokens.key")})
	if err != nil {
		return err
	}
	defer st.Close()
	b := make([]byte, 12)
	rand.Read(b)
	w.AdminPassword = base64.RawURLEncoding.EncodeToString(b)
	if _, err := accounts.New(st.DB(), nil).SetAdminPassword(ctx, AdminName, w.AdminPassword); err != nil {
		return err
	}
	ms := tokens.Settings(w.IDP, w.Sandbox, MicrosoftToken, provider.Microsoft)
	// A secret expiring soon, so the list shows its warning.
	ms.SecretExpiresOn = time.Now().AddDate(0, 0, 20).Truncate(24 * time.Hour)
	sets := []tokenstore.Settings{ms, tokens.Settings(w.IDP, w.Sandbox, GoogleToken, provider.Google)}
	if w.Graph != nil {
		g := tokens.Settings(w.IDP, w.Sandbox, GraphToken, provider.Microsoft)
		g.Scope = provider.MicrosoftGraphSendScope + " " + provider.MicrosoftGraphReadWriteScope
		sets = append(sets, g)
	}
	for _, set := range sets {
		if _, err := st.Create(ctx, set, tokenstore.ActorCLI); err != nil {
			return err
		}
	}
	return nil
}

func (w *World) taskFiles() error {
	common := fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\n", filepath.Join(w.Dir, "tokens.db"), filepath.Join(w.Dir, "tokens.key"))
	imapHost, imapPort, _ := net.SplitHostPort(w.IMAPAddr)
	smtpHost, smtpPort, _ := net.SplitHostPort(w.SMTPAddr)
	files := map[string]string{
		"evadmin.properties": common + fmt.Sprintf("LISTEN = %s\nPUBLIC_URL = %s\nTLS_CA_FILE = %s\n", w.Listen, w.URL, w.CAFile),
		"evmail.properties": common + inbound("The demo's inbound task: the Contoso support mailbox over IMAP.",
			fmt.Sprintf("MAILBOX_PROTOCOL = IMAP\nMAILBOX_HOST = %s\nMAILBOX_PORT = %s\nMAILBOX_SECURITY = SSL\nMAILBOX_TLS_CA_FILE = %s\n",
				imapHost, imapPort, w.CAFile),
			w.Sandbox.MSUser, MicrosoftToken, "MAILBOX_AFTER_DELIVERY = SEEN\n", w.Inbox),
		"batchmail.properties": common + outbound("The demo's outbound task: notifications sent as the Contoso support mailbox.",
			fmt.Sprintf("MAIL_HOST = %s\nMAIL_PORT = %s\nMAIL_SECURITY = STARTTLS\nMAIL_TLS_CA_FILE = %s\n", smtpHost, smtpPort, w.CAFile),
			w.Sandbox.MSUser, MicrosoftToken, w.Outbox),
	}
	if w.Graph != nil {
		files["evmail-graph.properties"] = common + inbound(fmt.Sprintf("The demo's inbound task over Microsoft Graph: the folder %q of the\n# Contoso support mailbox, moved to Archive once delivered.", GraphFolder),
			fmt.Sprintf("MAILBOX_PROTOCOL = GRAPH\nMAILBOX_GRAPH_URL = %s\nMAILBOX_FOLDER = %s\n", w.GraphURL, GraphFolder),
			w.Sandbox.MSUser, GraphToken, "MAILBOX_AFTER_DELIVERY = MOVE\nMAILBOX_MOVE_TO = Archive\n", w.GraphInbox)
		files["batchmail-graph.properties"] = common + outbound("The demo's outbound task over Microsoft Graph (sendMail), as the\n# Contoso support mailbox.",
			fmt.Sprintf("MAIL_PROTOCOL = GRAPH\nMAIL_GRAPH_URL = %s\n", w.GraphURL), w.Sandbox.MSUser, GraphToken, w.GraphOutbox)
		w.EvmailGraphConf = filepath.Join(w.Dir, "evmail-graph.properties")
		w.BatchmailGraphConf = filepath.Join(w.Dir, "batchmail-graph.properties")
	}
	if w.GmailAPI != nil {
		files["evmail-gmail.properties"] = common + inbound("The demo's inbound task over the Gmail API: the Gmail support mailbox's\n# INBOX, marked read once delivered.",
			fmt.Sprintf("MAILBOX_PROTOCOL = GMAIL_API\nMAILBOX_GMAIL_API_URL = %s\nMAILBOX_FOLDER = INBOX\n", w.GmailAPIURL),
			w.Sandbox.GoogleUser, GoogleToken, "MAILBOX_AFTER_DELIVERY = SEEN\n", w.GmailInbox)
		files["batchmail-gmail.properties"] = common + outbound("The demo's outbound task over the Gmail API (users.messages.send), as\n# the Gmail support mailbox.",
			fmt.Sprintf("MAIL_PROTOCOL = GMAIL_API\nMAIL_GMAIL_API_URL = %s\n", w.GmailAPIURL), w.Sandbox.GoogleUser, GoogleToken, w.GmailOutbox)
		w.EvmailGmailConf = filepath.Join(w.Dir, "evmail-gmail.properties")
		w.BatchmailGmailConf = filepath.Join(w.Dir, "batchmail-gmail.properties")
	}
	for name, text := range files {
		if err := os.WriteFile(filepath.Join(w.Dir, name), []byte(text), 0o600); err != nil {
			return err
		}
	}
	w.EvadminConf = filepath.Join(w.Dir, "evadmin.properties")
	w.EvmailConf = filepath.Join(w.Dir, "evmail.properties")
	w.BatchmailConf = filepath.Join(w.Dir, "batchmail.properties")
	return nil
}

// inbound is a demo evmail task file: a comment, the keys that say how
// the mailbox is reached, then the login, the after-delivery keys and the
// Maildir.
func inbound(comment, reach, user, token, after, maildir string) string {
	return fmt.Sprintf("# %s\n%sMAILBOX_USER = %s\nMAILBOX_AUTH_TYPE = OAUTH2\nMAILBOX_EMAIL_TOKEN_NAME = %s\nMAILBOX_POLL_INTERVAL = 5s\n%sMAILBOX_DELIVER_TO = maildir:%s\n",
		comment, reach, user, token, after, maildir)
}

// outbound is a demo batchmail task file: a comment, the keys that say
// where mail goes, then the login and the spool.
func outbound(comment, reach, user, token, spool string) string {
	return fmt.Sprintf("# %s\n%sMAIL_USER = %s\nMAIL_AUTH_TYPE = OAUTH2\nMAIL_TOKEN_NAME = %s\nMAIL_SPOOL_DIR = %s\nMAIL_RATE_PER_MINUTE = 0\nMAIL_POLL_INTERVAL = 2s\n",
		comment, reach, user, token, spool)
}

// queue drops notifications from the Contoso mailbox into outbox the way
// applications do: write into tmp/, rename into new/. Their Message-IDs
// count from n.
func (w *World) queue(outbox string, subjects []string, n int) error {
	return w.queueFrom(w.Sandbox.MSUser, outbox, subjects, n)
}

// queueFrom is queue for messages from and to the mailbox from.
func (w *World) queueFrom(from, outbox string, subjects []string, n int) error {
	for _, sub := range []string{"tmp", "new", "sent", "failed"} {
		if err := os.MkdirAll(filepath.Join(outbox, sub), 0o700); err != nil {
			return err
		}
	}
	for i, subject := range subjects {
		name := fmt.Sprintf("demo-%d.eml", n+i)
		tmp := filepath.Join(outbox, "tmp", name)
		if err := os.WriteFile(tmp, demoMessage(from, from, subject, n+i), 0o600); err != nil {
			return err
		}
		if err := os.Rename(tmp, filepath.Join(outbox, "new", name)); err != nil {
			return err
		}
	}
	return nil
}

func demoMessage(from, to, subject string, n int) []byte {
	return []byte(strings.ReplaceAll(fmt.Sprintf(`From: %s
To: %s
Subject: %s
Date: %s
Message-ID: <demo-%d@mailtokens.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello,

this message is part of the mailtokens demo (%d).
`, from, to, subject, time.Now().Format(time.RFC1123Z), n, n), "\n", "\r\n"))
}
