package mailconn

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/sandbox/tokens"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// TestDovecot logs in to a real Dovecot that checks the sandbox's tokens by
// introspection, over IMAP, POP3 and submission, with and without TLS; a
// token Dovecot refuses although the store thinks it fine is refreshed once.
func TestDovecot(t *testing.T) {
	sb := sandboxtest.New(t, sandboxtest.Store())
	p, w, store := sb.IDP, sb.World, sb.Store
	dc := sb.Dovecot(t)
	ctx := context.Background()
	if _, err := store.Create(ctx, tokens.Settings(p, w, "ms", provider.Microsoft), tokenstore.ActorCLI); err != nil {
		t.Fatal(err)
	}
	// An access token Dovecot will refuse, with a good refresh token.
	save := func() {
		_, rt, err := p.MintToken(ctx, w, provider.Microsoft, w.MSUser)
		if err != nil {
			t.Fatal(err)
		}
		store.SaveGrant(ctx, "ms", tokenstore.GrantPasted, &provider.Token{AccessToken: secret.New("refused-by-dovecot"),
			RefreshToken: secret.New(rt), ExpiresIn: time.Hour}, tokenstore.ActorCLI)
	}
	src := store.Source("ms", tokenstore.ActorEvmail)
	a := Auth{User: w.MSUser, Tokens: src}
	srv := func(addr string, sec mailserver.Security) mailserver.Server {
		host, port, _ := net.SplitHostPort(addr)
		n, _ := strconv.Atoi(port)
		return mailserver.Server{Host: host, Port: n, Security: sec, RootCAs: dc.CAPool, Timeout: 10 * time.Second}
	}
	for _, c := range []struct {
		name string
		dial func() error
	}{
		{"IMAP STARTTLS", func() error {
			c, err := DialIMAP(ctx, srv(dc.IMAPAddr, mailserver.STARTTLS), a, Options{}, nil)
			if err == nil {
				c.Close()
			}
			return err
		}},
		{"IMAP SSL", func() error {
			c, err := DialIMAP(ctx, srv(dc.IMAPSAddr, mailserver.SSL), a, Options{}, nil)
			if err == nil {
				c.Close()
			}
			return err
		}},
		{"POP3 SSL", func() error {
			c, err := DialPOP3(ctx, srv(dc.POP3SAddr, mailserver.SSL), a, Options{})
			if err == nil {
				c.Quit()
			}
			return err
		}},
		{"POP3 STARTTLS", func() error {
			c, err := DialPOP3(ctx, srv(dc.POP3Addr, mailserver.STARTTLS), a, Options{})
			if err == nil {
				c.Quit()
			}
			return err
		}},
		{"submission STARTTLS", func() error {
			c, err := DialSMTP(ctx, srv(dc.SubmissionAddr, mailserver.STARTTLS), a, Options{})
			if err == nil {
				c.Quit()
			}
			return err
		}},
		{"submission SSL", func() error {
			c, err := DialSMTP(ctx, srv(dc.SubmissionsAddr, mailserver.SSL), a, Options{})
			if err == nil {
				c.Quit()
			}
			return err
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			save()
			before := len(p.Refreshes())
			if err := c.dial(); err != nil {
				t.Fatalf("%v\n%s", err, dc.Log())
			}
			if n := len(p.Refreshes()) - before; n != 1 {
				t.Fatalf("%d refreshes, want one forced refresh", n)
			}
		})
	}
	// A mailbox the token does not belong to: refused, explained, one
	// refresh and no more — also when the worker tries again.
	save()
	before := len(p.Refreshes())
	for i := range 2 {
		_, err := DialIMAP(ctx, srv(dc.IMAPSAddr, mailserver.SSL), Auth{User: "someone.else@contoso.example", Tokens: src}, Options{}, nil)
		var e *Error
		if !errors.As(err, &e) || !e.Rejected || !e.AfterRefresh || e.Failure == nil {
			t.Fatalf("refused login %d: %#v", i+1, err)
		}
	}
	if n := len(p.Refreshes()) - before; n != 1 {
		t.Fatalf("%d refreshes for a refused mailbox, want 1", n)
	}
}
