package admin

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
)

func TestTestButton(t *testing.T) {
	h := newHarness(t, func(h *harness, c *Config) { c.Tester = mailconn.Tester{RootCAs: h.Cert.Pool()} })
	addr := h.IMAP[provider.Microsoft].Addr[mailauth.ImplicitTLS]
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	b.getEmailToken(id, h.World.MSUser)

	form := b.get(id + "/test")
	if !strings.Contains(form.body, `value="outlook.office365.com:993"`) || !strings.Contains(form.body, h.World.MSUser) {
		t.Fatalf("test form defaults: %s", text(form.body))
	}
	r := b.post(id+"/test", url.Values{"protocol": {"IMAP"}, "server": {addr}, "security": {"SSL"}, "user": {h.World.MSUser}})
	if !strings.Contains(r.body, "Logged in to "+addr) || !strings.Contains(r.body, `class="transcript"`) {
		t.Fatalf("test result: %s", text(r.body))
	}
	tok, _ := h.Store.Get(context.Background(), "support")
	if strings.Contains(r.body, tok.AccessToken.Reveal()) || !strings.Contains(r.body, "[credentials hidden]") {
		t.Fatal("the transcript shows the token, or hides nothing")
	}
	// A mailbox the account may not open: the server's words and advice.
	r = b.post(id+"/test", url.Values{"protocol": {"IMAP"}, "server": {addr}, "security": {"SSL"}, "user": {"ceo@contoso.example"}})
	if !strings.Contains(r.body, "AUTHENTICATE failed") || !strings.Contains(r.body, "Full Access") {
		t.Fatalf("refused test: %s", text(r.body))
	}
	// Bad input: the form again with the problem.
	r = b.post(id+"/test", url.Values{"protocol": {"IMAP"}, "server": {"no-port"}, "security": {"SSL"}, "user": {"x"}})
	if r.status != 400 || !strings.Contains(r.body, "is not host:port") {
		t.Fatalf("bad server: %d %s", r.status, flashOrErrors(r.body))
	}
}
