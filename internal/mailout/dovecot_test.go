package mailout

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wneessen/go-mail/smtp"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/dovecot"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/tokenstore"
)

// dovecotRig is a real Dovecot whose submission service checks the
// sandbox's tokens by introspection and relays to an smtp-sink, and a
// store with a live token.
type dovecotRig struct {
	*sandboxtest.Env
	dc *dovecot.Server
}

func newDovecotRig(t testing.TB) *dovecotRig {
	t.Helper()
	e := sandboxtest.New(t, sandboxtest.Authorized("ms", provider.Microsoft))
	return &dovecotRig{Env: e, dc: e.Dovecot(t)}
}

// dialer logs in to submission with STARTTLS and XOAUTH2, as batchmail
// does.
func (r *dovecotRig) dialer(t testing.TB) func(context.Context) (*smtp.Client, error) {
	srv := serverOf(t, r.dc.SubmissionAddr, mailserver.STARTTLS)
	srv.RootCAs = r.dc.CAPool
	auth := mailconn.Auth{User: r.World.MSUser, Tokens: r.Store.Source("ms", tokenstore.ActorBatchmail)}
	return func(ctx context.Context) (*smtp.Client, error) {
		return mailconn.DialSMTP(ctx, srv, auth, mailconn.Options{})
	}
}

// stripReceived removes the Received field (with its continuation lines)
// that Dovecot's submission prepends.
func stripReceived(t testing.TB, data []byte) []byte {
	t.Helper()
	if !bytes.HasPrefix(data, []byte("Received: ")) {
		t.Fatalf("relayed message does not start with Received:\n%s", data)
	}
	i := bytes.Index(data, []byte("\r\n"))
	for i >= 0 && i+2 < len(data) && (data[i+2] == ' ' || data[i+2] == '\t') {
		i += 2 + bytes.Index(data[i+2:], []byte("\r\n"))
	}
	return data[i+2:]
}

// Through a real submission server with XOAUTH2: each message arrives at
// the relay's sink byte for byte (after the one Received field Dovecot
// prepends), Bcc recipients get it without the Bcc field, and the
// envelope is MAIL_FROM and the header's recipients.
func TestDovecotRelaysByteForByte(t *testing.T) {
	r := newDovecotRig(t)
	spool, err := OpenSpool(filepath.Join(t.TempDir(), "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Spool: spool, From: r.World.MSUser, Dial: r.dialer(t), Server: r.dc.SubmissionAddr})
	if err != nil {
		t.Fatal(err)
	}
	from := r.World.MSUser
	cases := []struct {
		name, text, want string // want: the message as relayed, "" = the file
		rcpts            []string
	}{
		{"plain", testMessage(from, "a@example.net", "plain", "Hello."), "", []string{"a@example.net"}},
		{"dots and 8bit", testMessage(from, "Zoë <zoe@example.net>", "dots and 8bit", ".\n..x\n.\nGrüße ☃\n"+strings.Repeat("y", 990)), "",
			[]string{"zoe@example.net"}},
		{"bcc", crlf("From: " + from + "\nTo: Team: a@example.net, \"Doe, B\" <b@example.net>;\nBcc: hidden@example.net,\n\tarchive@example.net\n" +
			"Subject: bcc\nX-Custom: kept\n\nbody\n"),
			crlf("From: " + from + "\nTo: Team: a@example.net, \"Doe, B\" <b@example.net>;\n" +
				"Subject: bcc\nX-Custom: kept\n\nbody\n"),
			[]string{"a@example.net", "b@example.net", "hidden@example.net", "archive@example.net"}},
	}
	for _, c := range cases {
		queue(t, spool, c.name, c.text)
	}
	if sum := s.Pass(context.Background()); !sum.OK() || sum.Sent != len(cases) {
		t.Fatalf("pass: %+v\n%s", sum, r.dc.Log())
	}
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	got := r.dc.Sink.WaitMessages(ctx, t, len(cases))
	for _, c := range cases {
		i := slices.IndexFunc(got, func(m dovecot.SinkMessage) bool { return subjectOf(string(m.Data)) == subjectOf(c.text) })
		if i < 0 {
			t.Errorf("%s: not relayed", c.name)
			continue
		}
		want := c.want
		if want == "" {
			want = c.text
		}
		if body := stripReceived(t, got[i].Data); string(body) != want {
			t.Errorf("%s: relayed\n%q\nwant\n%q", c.name, body, want)
		}
		if got[i].From != from || !slices.Equal(got[i].To, c.rcpts) {
			t.Errorf("%s: envelope %s -> %v, want %s -> %v", c.name, got[i].From, got[i].To, from, c.rcpts)
		}
	}
	tok, err := r.Store.Get(context.Background(), "ms")
	if err != nil || tok.LastUsedBy != tokenstore.ActorBatchmail {
		t.Errorf("token last used by %q (%v)", tok.LastUsedBy, err)
	}
}

// A token Dovecot refuses stops the pass with mailconn's explanation; the
// messages stay queued, untouched.
func TestDovecotRefusedToken(t *testing.T) {
	r := newDovecotRig(t)
	spool, err := OpenSpool(filepath.Join(t.TempDir(), "outbox"))
	if err != nil {
		t.Fatal(err)
	}
	srv := serverOf(t, r.dc.SubmissionAddr, mailserver.STARTTLS)
	srv.RootCAs = r.dc.CAPool
	// A mailbox the token's account may not use.
	auth := mailconn.Auth{User: "someone.else@contoso.example", Tokens: r.Store.Source("ms", tokenstore.ActorBatchmail)}
	s, err := New(Config{Spool: spool, From: r.World.MSUser, Dial: func(ctx context.Context) (*smtp.Client, error) {
		return mailconn.DialSMTP(ctx, srv, auth, mailconn.Options{})
	}})
	if err != nil {
		t.Fatal(err)
	}
	queue(t, spool, "m1", testMessage(r.World.MSUser, "a@example.net", "refused", "x"))
	sum := s.Pass(context.Background())
	if sum.Err == nil || !strings.Contains(sum.Err.Error(), dovecot.SMTPAuthFailed) || sum.attempted() != 0 {
		t.Fatalf("pass: %+v", sum)
	}
	if left := files(t, spool, DirNew); !slices.Equal(left, []string{"m1"}) {
		t.Fatalf("new/: %v", left)
	}
	if _, err := os.Stat(statePath(spool, "m1")); err == nil {
		t.Fatal("a login failure was charged to the message")
	}
}
