package cli

import (
	"crypto/x509"
	"flag"
	"fmt"
	"net"
	"strconv"
	"strings"

	"mailtokens/internal/apicheck"
	"mailtokens/internal/cmdline"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/tokenstore"
)

// runTokenTest logs in to a mail server with the token, as a worker would,
// and prints the conversation (credentials hidden). (The file is not
// token_test.go: that name would make it a test file.)
func runTokenTest(env *Env, args []string) error {
	fs := flag.NewFlagSet("token test", flag.ContinueOnError)
	imapAddr := fs.String("imap", "", "IMAP server host:port")
	pop3Addr := fs.String("pop3", "", "POP3 server host:port")
	smtpAddr := fs.String("smtp", "", "SMTP server host:port")
	security := fs.String("security", "", "SSL, STARTTLS or NONE (default: from the port)")
	user := fs.String("user", "", "the mailbox to log in to (default: the token's email)")
	quiet := fs.Bool("q", false, "print only the outcome")
	graphURL := fs.String("graph", "", "check Microsoft Graph instead of a mail server: its address, e.g. https://graph.microsoft.com/v1.0")
	gmailURL := fs.String("gmail-api", "", "check the Gmail API instead of a mail server: its address, e.g. https://gmail.googleapis.com")
	read := fs.String("read", "", "with --graph or --gmail-api: the folder or label to read (default: check sending)")
	caFile := fs.String("ca-file", "", "PEM file of a private CA that signs the server's certificate (default: TLS_CA_FILE, and the system's CAs)")
	pos, err := env.Parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *graphURL != "" || *gmailURL != "" {
		if *imapAddr != "" || *pop3Addr != "" || *smtpAddr != "" || (*graphURL != "" && *gmailURL != "") {
			return cmdline.Usagef("give one of --imap, --pop3, --smtp, --graph or --gmail-api")
		}
		return testWebAPI(env, pos[0], *graphURL, *gmailURL, *read, *user, *caFile)
	}
	req, err := testRequest(*imapAddr, *pop3Addr, *smtpAddr, *security)
	if err != nil {
		return err
	}
	cfg, err := env.config()
	if err != nil {
		return err
	}
	var roots *x509.CertPool
	if *caFile == "" {
		*caFile = cfg.TLSCAFile
	}
	if *caFile != "" {
		if roots, err = mailconn.RootsFromFile(*caFile, true); err != nil {
			return err
		}
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	return testToken(env, store, pos[0], req, *user, *quiet, roots)
}

// testRequest reads the server to test from the flags: usage errors come
// before the store is opened.
func testRequest(imapAddr, pop3Addr, smtpAddr, security string) (mailconn.TestRequest, error) {
	var req mailconn.TestRequest
	var addr string
	n := 0
	for _, c := range []struct {
		v string
		p mailserver.Protocol
	}{{imapAddr, mailserver.IMAP}, {pop3Addr, mailserver.POP3}, {smtpAddr, mailserver.SMTP}} {
		if c.v != "" {
			n++
			addr, req.Protocol = c.v, c.p
		}
	}
	if n != 1 {
		return req, cmdline.Usagef("give exactly one of --imap, --pop3 or --smtp HOST:PORT")
	}
	host, portText, err := net.SplitHostPort(addr)
	port, perr := strconv.Atoi(portText)
	if err != nil || perr != nil || port < 1 || port > 65535 {
		return req, cmdline.Usagef("%q is not HOST:PORT", addr)
	}
	req.Host, req.Port = host, port
	req.Security = mailserver.Security(strings.ToUpper(security))
	if req.Security == "" {
		req.Security = defaultSecurity(port)
	} else if !req.Security.Valid() {
		return req, cmdline.Usagef("--security %q: use SSL, STARTTLS or NONE", security)
	}
	return req, nil
}

func testToken(env *Env, store *tokenstore.Store, name string, req mailconn.TestRequest, user string, quiet bool, roots *x509.CertPool) error {
	t, err := store.Get(env.Ctx, name)
	if err != nil {
		return err
	}
	req.User = user
	if req.User == "" {
		req.User = t.Email
	}
	if req.User == "" {
		return cmdline.Usagef("the token has no email address: give --user")
	}
	res := mailconn.Test(env.Ctx, store.Source(t.Name, tokenstore.ActorCLI), req, roots)
	if !quiet {
		for _, l := range res.Transcript {
			fmt.Fprintln(env.Stdout, l)
		}
		fmt.Fprintln(env.Stdout)
	}
	if !res.OK {
		if res.Advice != "" {
			return fmt.Errorf("%s\n%s", res.Summary, res.Advice)
		}
		return fmt.Errorf("%s", res.Summary)
	}
	fmt.Fprintln(env.Stdout, res.Summary)
	return nil
}

// defaultSecurity guesses from the well-known ports: implicit TLS on 993,
// 995 and 465, STARTTLS elsewhere.
func defaultSecurity(port int) mailserver.Security {
	switch port {
	case 993, 995, 465:
		return mailserver.SSL
	}
	return mailserver.STARTTLS
}

// testWebAPI checks what a web-API task would do with the token, without
// changing the mailbox (apicheck).
func testWebAPI(env *Env, name, graphURL, gmailURL, read, user, caFile string) error {
	cfg, err := env.config()
	if err != nil {
		return err
	}
	if caFile == "" {
		caFile = cfg.TLSCAFile
	}
	var roots *x509.CertPool
	if caFile != "" {
		if roots, err = mailconn.RootsFromFile(caFile, true); err != nil {
			return err
		}
	}
	store, err := env.open()
	if err != nil {
		return err
	}
	defer store.Close()
	t, err := store.Get(env.Ctx, name)
	if err != nil {
		return err
	}
	if user == "" {
		user = t.Email
	}
	if user == "" {
		return cmdline.Usagef("the token has no email address: give --user")
	}
	req := apicheck.Request{Protocol: mailserver.GRAPH, URL: graphURL, User: user, Folder: read, Roots: roots}
	if gmailURL != "" {
		req.Protocol, req.URL = mailserver.GMAILAPI, gmailURL
	}
	res := apicheck.Check(env.Ctx, store.Source(t.Name, tokenstore.ActorCLI), req)
	if !res.OK {
		if res.Advice != "" {
			return fmt.Errorf("%s\n%s", res.Summary, res.Advice)
		}
		return fmt.Errorf("%s", res.Summary)
	}
	fmt.Fprintf(env.Stdout, "OK: %s.\n", res.Summary)
	return nil
}
