package mailconn_test

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/tokenstore"
)

// Logging in to IMAP with a stored token, as evmail does with
// MAILBOX_AUTH_TYPE = OAUTH2: DialIMAP takes the access token from the
// store's Source and presents it with XOAUTH2. The sandbox stands in for
// Microsoft's identity platform and Exchange Online's IMAP server.
func ExampleDialIMAP() {
	ctx := context.Background()

	// The identity provider, and an Exchange-like IMAP server on loopback
	// (SSL, with a certificate from a test CA) that asks it about tokens.
	p := idp.New(idp.Options{})
	if err := p.Start(); err != nil {
		log.Fatal(err)
	}
	defer p.Close()
	w := p.AddWorld()
	cert, err := testcert.New()
	if err != nil {
		log.Fatal(err)
	}
	srv, err := imapd.New(imapd.Options{ServerOptions: mailauth.ServerOptions{Style: provider.Microsoft, Directory: mailauth.New(p.Introspect), TLS: cert.ServerTLS()}})
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	addr, err := srv.Listen(mailauth.ImplicitTLS)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := srv.Append(w.MSUser, "INBOX", []byte("Subject: hello\r\n\r\nfirst message\r\n")); err != nil {
		log.Fatal(err)
	}

	// A token store holding a token the sandbox issued (see the
	// tokenstore package's example for the steps).
	dir, err := os.MkdirTemp("", "mailconn-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := tokenstore.Open(ctx, tokenstore.Options{Path: filepath.Join(dir, "tokens.db"),
		KeyFile: filepath.Join(dir, "tokens.key"), HTTPClient: provider.NewHTTPClient(10 * time.Second)})
	if err != nil {
		log.Fatal(err)
	}
	defer st.Close()
	if _, err := tokens.Authorize(ctx, st, p, w, "Support mailbox", provider.Microsoft); err != nil {
		log.Fatal(err)
	}

	// The login: the mailbox as the user, the store's Source for tokens.
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	server := mailserver.Server{Host: host, Port: n, Security: mailserver.SSL, RootCAs: cert.Pool()}
	auth := mailconn.Auth{User: w.MSUser, Tokens: st.Source("Support mailbox", tokenstore.ActorEvmail)}
	c, err := mailconn.DialIMAP(ctx, server, auth, mailconn.Options{}, nil)
	if err != nil {
		log.Fatal(err) // a *mailconn.Error: how far it got and what the server answered
	}
	defer c.Close()
	inbox, err := c.Select("INBOX", nil).Wait()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("messages in INBOX:", inbox.NumMessages)
	fmt.Println("logins by mechanism:", srv.Stats()[w.MSUser].Mechanisms)
	// Output:
	// messages in INBOX: 1
	// logins by mechanism: map[XOAUTH2:1]
}
