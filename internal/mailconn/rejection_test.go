package mailconn

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/tokenstore"
)

// TestRefusingServerDoesNotHammerTheProvider: the mail servers refuse
// every login with a token the provider keeps issuing (its account has no
// access to the mailbox). Three worker processes with an IMAP and an SMTP
// task each retry every 10 seconds for 30 minutes: the provider sees one
// refresh forced by the refusals, not one per retry, and the event log does
// not grow with the retries; the workers get the mail side's problem with
// its advice. A later expiry still refreshes, and once the mailbox is fixed
// the same token gets in.
func TestRefusingServerDoesNotHammerTheProvider(t *testing.T) {
	e := sandboxtest.New(t, sandboxtest.FakeClock(sandboxtest.Epoch),
		sandboxtest.IMAP(provider.Microsoft), sandboxtest.SMTP(provider.Microsoft), sandboxtest.Authorized("ms", provider.Microsoft))
	ctx := context.Background()
	const mailbox = "ceo@contoso.example" // the token's account has no Full Access to it
	type task struct {
		src *tokenstore.Source
		s   mailserver.Server
	}
	var tasks []task
	for i := range 3 {
		st := e.Store
		if i > 0 {
			st = e.OpenStore(t) // another process
		}
		tasks = append(tasks,
			task{st.Source("ms", tokenstore.ActorEvmail), server(mailserver.IMAP, e.IMAP[provider.Microsoft].Addr[mailauth.Plain], mailserver.NONE, nil)},
			task{st.Source("ms", tokenstore.ActorBatchmail), server(mailserver.SMTP, e.SMTP[provider.Microsoft].Addr[mailauth.Plain], mailserver.NONE, nil)})
	}
	login := func(tk task) error {
		a := Auth{User: mailbox, Tokens: tk.src}
		if tk.s.Protocol == mailserver.SMTP {
			c, err := DialSMTP(ctx, tk.s, a, Options{})
			if err == nil {
				c.Close()
			}
			return err
		}
		c, err := DialIMAP(ctx, tk.s, a, Options{}, nil)
		if err == nil {
			c.Close()
		}
		return err
	}
	events := func() int {
		ev, err := e.Store.Events(ctx, "ms", 100000)
		if err != nil {
			t.Fatal(err)
		}
		return len(ev)
	}
	refreshesBefore, eventsBefore := len(e.IDP.Refreshes()), events()

	const retryEvery, period = 10 * time.Second, 30 * time.Minute
	start, attempts := e.Clock.Now(), 0
	for e.Clock.Now().Sub(start) < period {
		for _, tk := range tasks {
			err := login(tk)
			attempts++
			var me *Error
			if !errors.As(err, &me) || me.Stage != StageLogin || !me.Rejected {
				t.Fatalf("%s login at +%s: %v, want the server's refusal", tk.s.Protocol, e.Clock.Now().Sub(start), err)
			}
			if text, kind := advice.Of(err); kind != advice.Misconfigured || !strings.Contains(text, "Full Access") {
				t.Fatalf("%s login at +%s: advice %q (%s), want the mail side's", tk.s.Protocol, e.Clock.Now().Sub(start), text, kind)
			}
			// After the first refusal the store does not refresh again,
			// and says why.
			var refused *tokenstore.RefusedError
			if attempts > 1 && (!me.AfterRefresh || !errors.As(err, &refused)) {
				t.Fatalf("%s login at +%s: %v, want it marked after a refresh, with the store's reason", tk.s.Protocol, e.Clock.Now().Sub(start), err)
			}
		}
		e.Clock.Advance(retryEvery)
	}
	refreshes := e.IDP.Refreshes()[refreshesBefore:]
	t.Logf("%d logins refused over %s: %d refreshes at the provider, %d new events", attempts, period, len(refreshes), events()-eventsBefore)
	close := 0
	for i := 1; i < len(refreshes); i++ {
		if refreshes[i].At.Sub(refreshes[i-1].At) < 5*time.Minute {
			close++
		}
	}
	if len(refreshes) != 1 || close > 0 {
		t.Fatalf("%d refreshes forced by refusals in %s (%d within 5 minutes of the one before), want 1", len(refreshes), period, close)
	}
	// The forced refresh is the one event; refusals write none.
	if n := events() - eventsBefore; n != 1 {
		t.Fatalf("%d events for %d refused logins, want 1", n, attempts)
	}
	tok, err := e.Store.Get(ctx, "ms")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Status != tokenstore.StatusValid {
		t.Fatalf("a mail server's refusal changed the token's status to %s", tok.Status)
	}

	// Near expiry the token is refreshed as usual.
	e.Clock.Set(tok.Expiry.Add(-5 * time.Minute))
	n := len(e.IDP.Refreshes())
	a, err := tasks[0].src.Token(ctx)
	if err != nil || a.Token.Equal(tok.AccessToken) || len(e.IDP.Refreshes()) != n+1 {
		t.Fatalf("near expiry: %d refreshes, %v", len(e.IDP.Refreshes())-n, err)
	}

	// The admin gives the token's account access to the mailbox: every
	// task gets in with the token as it is.
	e.Directory.GrantFullAccess(mailbox, e.World.MSUser)
	n = len(e.IDP.Refreshes())
	for _, tk := range tasks {
		if err := login(tk); err != nil {
			t.Fatalf("%s after the mailbox was fixed: %v", tk.s.Protocol, err)
		}
	}
	if got := len(e.IDP.Refreshes()) - n; got != 0 {
		t.Fatalf("%d refreshes for logins that succeed", got)
	}
}
