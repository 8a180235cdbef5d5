package mailauth

import (
	"context"
	"errors"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idp"
)

// TestRules: a token must be live, meant for Exchange (or Gmail), carry the
// protocol's permission, and belong to the mailbox or to a user with full
// access to it; app-only tokens need the app role and mailbox access.
func TestRules(t *testing.T) {
	p := idp.NewTest(t, idp.Options{})
	w := p.AddWorld()
	d := New(p.Introspect)
	d.GrantFullAccess(w.MSSharedMailbox, w.MSUser)
	ctx := context.Background()
	imapOnly, _, err := p.MintToken(ctx, w, provider.Microsoft, w.MSUser, "https://outlook.office.com/IMAP.AccessAsUser.All")
	if err != nil {
		t.Fatal(err)
	}
	graph, _, err := p.MintToken(ctx, w, provider.Microsoft, w.MSUser, "https://graph.microsoft.com/Mail.Read")
	if err != nil {
		t.Fatal(err)
	}
	gmail, _, err := p.MintToken(ctx, w, provider.Google, w.GoogleUser)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		proto   Protocol
		mailbox string
		token   string
		ok      bool
	}{
		{"own mailbox", IMAP, w.MSUser, imapOnly, true},
		{"case does not matter", IMAP, "Support@Contoso.Example", imapOnly, true},
		{"shared mailbox with full access", IMAP, w.MSSharedMailbox, imapOnly, true},
		{"someone else's mailbox", IMAP, w.MSOtherUser, imapOnly, false},
		{"scope for another protocol", SMTP, w.MSUser, imapOnly, false},
		{"Graph audience", IMAP, w.MSUser, graph, false},
		{"unknown token", IMAP, w.MSUser, "garbage", false},
		{"gmail own", POP3, w.GoogleUser, gmail, true},
		{"gmail other", POP3, "other@gmail.example", gmail, false},
	} {
		err := d.Bearer(c.proto, c.mailbox, c.token)
		if (err == nil) != c.ok {
			t.Errorf("%s: %v", c.name, err)
		}
		if err != nil && !errors.Is(err, ErrRejected) {
			t.Errorf("%s: %v is not a rejection", c.name, err)
		}
	}
	// SMTP AUTH switched off for the mailbox: Exchange's 5.7.139.
	smtpTok, _, _ := p.MintToken(ctx, w, provider.Microsoft, w.MSUser)
	if err := d.Bearer(SMTP, w.MSUser, smtpTok); err != nil {
		t.Fatalf("SMTP with SMTP.Send: %v", err)
	}
	d.DisableSMTPAuth(w.MSUser)
	var r *Rejected
	if err := d.Bearer(SMTP, w.MSUser, smtpTok); !errors.As(err, &r) || !r.SMTPAuthDisabled {
		t.Fatalf("SMTP AUTH disabled: %v", err)
	}
	// Passwords.
	d.SetPassword("clerk@contoso.example", "pw")
	if d.Password(IMAP, "clerk@contoso.example", "pw") != nil || d.Password(IMAP, "clerk@contoso.example", "nope") == nil {
		t.Fatal("password check wrong")
	}
}
