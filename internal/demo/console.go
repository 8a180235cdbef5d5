package demo

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"

	"mailtokens/internal/cli"
	"mailtokens/internal/cmdline"
	"mailtokens/internal/mailin"
	"mailtokens/internal/mailout"
)

// Program is the demo's command line, what `make demo` runs: the whole
// loop on this machine. It is its own program so that evadmin, evmail and
// batchmail never contain the sandbox.
var Program = &cmdline.Program{
	Name:  "evdemo",
	Title: "the whole mailtokens loop on this machine, with a sandbox standing in for Microsoft and Google",
	Commands: []cmdline.Command{{
		Args:    "[--dir DIR] [--listen ADDR] [--dovecot]",
		Summary: "run the sandbox, evadmin, evmail and batchmail until Ctrl-C (--dovecot: a private Dovecot as the mail server)",
		Run:     run,
	}},
}

// run runs the whole loop on this machine: the sandbox stands in for
// Microsoft and Google, evadmin serves, evmail and batchmail run; Ctrl-C
// stops everything. With --dovecot the workers talk to a private Dovecot
// instead of the sandbox's mail servers.
func run(env *cmdline.Env, args []string) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	dir := fs.String("dir", "demo-data", "where the demo keeps its store, task files, inbox and outbox (wiped at each start)")
	listen := fs.String("listen", "127.0.0.1:8080", "where evadmin listens (another free port if busy)")
	useDovecot := fs.Bool("dovecot", false, "use a private Dovecot (dovecot-imapd, dovecot-pop3d, dovecot-submissiond; as root) instead of the sandbox mail servers")
	if _, err := env.Parse(fs, args, 0); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(env.Ctx)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	w, err := Setup(Options{Dir: *dir, Listen: *listen, Logger: quiet, Dovecot: *useDovecot})
	if err != nil {
		return fmt.Errorf("set up the demo: %w", err)
	}

	var wg sync.WaitGroup
	ready := make(chan string, 1)
	errc := make(chan error, 7)
	adminEnv := &cli.Env{Env: &cmdline.Env{Ctx: ctx, Stdin: strings.NewReader(""), Stdout: io.Discard,
		Stderr: prefixed(env.Stderr, "evadmin   "), Conf: w.EvadminConf}}
	wg.Go(func() { errc <- cli.Serve(adminEnv, func(addr string) { ready <- addr }) })
	select {
	case <-ready:
	case err := <-errc:
		return errors.Join(err, stopServers(w))
	}
	wg.Go(func() {
		runWorker(ctx, mailin.Program, w.EvmailConf, prefixed(env.Stderr, "evmail    "), "evmail", errc)
	})
	wg.Go(func() {
		runWorker(ctx, mailout.Program, w.BatchmailConf, prefixed(env.Stderr, "batchmail "), "batchmail", errc)
	})
	graph := ""
	if w.Graph != nil {
		wg.Go(func() {
			runWorker(ctx, mailin.Program, w.EvmailGraphConf, prefixed(env.Stderr, "evmail-g  "), "evmail (Graph)", errc)
		})
		wg.Go(func() {
			runWorker(ctx, mailout.Program, w.BatchmailGraphConf, prefixed(env.Stderr, "batchmail-g "), "batchmail (Graph)", errc)
		})
		graph = fmt.Sprintf(`
Microsoft Graph instead of IMAP and SMTP: click "Get Email Token" on
"%s" too (a token for Graph's scopes: a Microsoft token is for one
resource at a time). Then evmail-g delivers the %d messages waiting in the
folder %q into %s/new over Graph (a delta query, each message's
MIME) and moves them to Archive, and batchmail-g sends the %d queued in
%s with Graph's sendMail. Graph here: %s
`, GraphToken, w.WaitingInGraphFolder, GraphFolder, w.GraphInbox, w.WaitingInGraphOutbox, w.GraphOutbox, w.GraphURL)
	}
	if w.GmailAPI != nil {
		wg.Go(func() {
			runWorker(ctx, mailin.Program, w.EvmailGmailConf, prefixed(env.Stderr, "evmail-gm "), "evmail (Gmail API)", errc)
		})
		wg.Go(func() {
			runWorker(ctx, mailout.Program, w.BatchmailGmailConf, prefixed(env.Stderr, "batchmail-gm "), "batchmail (Gmail API)", errc)
		})
		graph += fmt.Sprintf(`
The Gmail API instead of IMAP and SMTP: click "Get Email Token" on "%s"
(sign in as %s). Then evmail-gm delivers the %d messages waiting in that
mailbox's INBOX into %s/new over the Gmail API (its history, each message
raw) and marks them read, and batchmail-gm sends the %d queued in %s
(it lands in the same INBOX, and evmail-gm delivers it too).
The Gmail API here: %s
`, GoogleToken, w.Sandbox.GoogleUser, w.WaitingInGmail, w.GmailInbox, w.WaitingInGmailOutbox, w.GmailOutbox, w.GmailAPIURL)
	}
	servers := fmt.Sprintf(`
The sandbox's mail servers (Microsoft-like; the workers use them):
  IMAP        %s (TLS)
  POP3        %s (TLS)
  SMTP        %s (STARTTLS)
`, w.IMAPAddr, w.POP3Addr, w.SMTPAddr)
	caNote := fmt.Sprintf("the sandbox CA is in %s/sandbox-tls", *dir)
	if w.Dovecot != nil {
		servers = fmt.Sprintf(`
The mail servers are a private Dovecot's instead of the sandbox's:
  IMAP        %s (TLS)
  POP3        %s (TLS)
  submission  %s (STARTTLS), relaying to %s,
              which saves each message back into Dovecot's mailbox
Its configuration, log, CA and mail are in %s/ until the demo stops.
`, w.IMAPAddr, w.POP3Addr, w.SMTPAddr, w.RelayAddr, w.Dovecot.Dir)
		caNote = "Dovecot's CA is " + w.CAFile
	}
	fmt.Fprintf(env.Stdout, `
mailtokens demo is running. Everything is on this machine; its data is in %s/.
%s
  1. Open %s/ and log in as  %s  with the password  %s
  2. Click "Get Email Token" on "%s".
  3. At the sandbox's sign-in page, sign in as  %s  with the password  %s
     and click Accept.

Until then evmail and batchmail say in their logs below that the token needs
authorization. Within seconds after it, evmail delivers the %d messages waiting
in the mailbox into %s/new, batchmail sends the %d queued in %s
(they land in the same mailbox, and evmail delivers them too), and the token
list shows when the token was last used and by which worker.
%s
Also there: "%s" (Google-like; sign in as %s), the device-code sign-in,
Refresh now, Test (IMAP %s over TLS; %s),
and the event log of each token. The sandbox's own page: %s/

The command line works on the same store:
  go run ./cmd/evadmin -conf %s token list

Ctrl-C stops everything.

`, *dir, servers, w.URL, AdminName, w.AdminPassword, MicrosoftToken, w.Sandbox.MSUser, w.Sandbox.Password,
		w.WaitingInMailbox, w.Inbox, w.WaitingInOutbox, w.Outbox, graph,
		GoogleToken, w.Sandbox.GoogleUser, w.IMAPAddr, caNote, w.IDP.URL(), w.EvadminConf)

	var first error
	select {
	case <-env.Ctx.Done():
	case first = <-errc:
	}
	cancel()
	wg.Wait()
	first = errors.Join(first, stopServers(w))
	fmt.Fprintln(env.Stdout, "mailtokens demo stopped.")
	return first
}

// runWorker runs a worker program with its task file until ctx ends; an
// exit other than 0 goes to errc, naming the worker.
func runWorker(ctx context.Context, p *cmdline.Program, conf string, stderr io.Writer, name string, errc chan<- error) {
	if code := p.Run(ctx, []string{"-conf", conf}, strings.NewReader(""), io.Discard, stderr); code != 0 {
		errc <- fmt.Errorf("%s exited with %d", name, code)
	}
}

// stopServers stops the demo's servers (Dovecot too), once their clients
// have stopped.
func stopServers(w *World) error {
	if err := w.Close(); err != nil {
		return fmt.Errorf("stop the demo's servers: %w", err)
	}
	return nil
}

// prefixed writes each line with a prefix, so the three programs' logs can
// share one console.
func prefixed(w io.Writer, prefix string) io.Writer { return &prefixWriter{w: w, prefix: prefix} }

type prefixWriter struct {
	mu     sync.Mutex
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixWriter) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			break
		}
		if _, err := fmt.Fprintf(p.w, "%s%s\n", p.prefix, p.buf[:i]); err != nil {
			return 0, err
		}
		p.buf = p.buf[i+1:]
	}
	return len(b), nil
}
