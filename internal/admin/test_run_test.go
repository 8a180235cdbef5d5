package admin

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailtokens/internal/mailconn"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/tokenstore"
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

// The Test form tests for a task file: choosing one fills in its server,
// security and mailbox, and the test trusts the CA file the task names, as
// its worker does. The same server entered by hand, with evadmin trusting
// only the system's CAs, fails with the unknown-authority advice.
func TestTestForTaskFile(t *testing.T) {
	h := newHarness(t, func(h *harness, c *Config) { c.Tester = mailconn.Tester{} }) // the system's CAs only
	b := h.browser().login()
	id := b.addToken(h.msForm("support"))
	b.getEmailToken(id, h.World.MSUser)

	dir := t.TempDir()
	imapHost, imapPort, _ := net.SplitHostPort(h.IMAP[provider.Microsoft].Addr[mailauth.ImplicitTLS])
	smtpHost, smtpPort, _ := net.SplitHostPort(h.SMTP[provider.Microsoft].Addr[mailauth.RequireStartTLS])
	const password = "hunter2-never-shown"
	evmail := writeTask(t, dir, "evmail.properties", fmt.Sprintf(`MAILBOX_PROTOCOL = IMAP
MAILBOX_HOST = %s
MAILBOX_PORT = %s
MAILBOX_SECURITY = SSL
MAILBOX_TLS_CA_FILE = %s
MAILBOX_USER = %s
MAILBOX_AUTH_TYPE = OAUTH2
MAILBOX_EMAIL_TOKEN_NAME = support
MAILBOX_PASSWORD = %s
MAILBOX_DELIVER_TO = maildir:%s
`, imapHost, imapPort, h.CAFile, h.World.MSUser, password, filepath.Join(dir, "inbox")))
	batchmail := writeTask(t, dir, "batchmail.properties", fmt.Sprintf(`MAIL_HOST = %s
MAIL_PORT = %s
MAIL_SECURITY = STARTTLS
MAIL_TLS_CA_FILE = %s
MAIL_USER = %s
MAIL_AUTH_TYPE = OAUTH2
MAIL_TOKEN_NAME = support
MAIL_SPOOL_DIR = %s
`, smtpHost, smtpPort, h.CAFile, h.World.MSUser, filepath.Join(dir, "outbox")))
	broken := writeTask(t, dir, "broken.properties", "MAILBOX_PROTOCOL = IMAP\nMAILBOX_HOST = 127.0.0.1\nMAILBOX_PORT = 99999\nMAILBOX_USER = x@contoso.example\nMAILBOX_AUTH_TYPE = OAUTH2\n")
	noCA := writeTask(t, dir, "noca.properties", fmt.Sprintf("MAIL_HOST = %s\nMAIL_PORT = %s\nMAIL_TLS_CA_FILE = %s\nMAIL_USER = %s\nMAIL_AUTH_TYPE = OAUTH2\n",
		smtpHost, smtpPort, filepath.Join(dir, "missing-ca.pem"), h.World.MSUser))
	for task, actor := range map[string]tokenstore.Actor{evmail: tokenstore.ActorEvmail, batchmail: tokenstore.ActorBatchmail,
		broken: tokenstore.ActorEvmail, noCA: tokenstore.ActorBatchmail} {
		h.useToken("support", actor, task)
	}

	page := b.get(id + "/test")
	for _, task := range []string{evmail, batchmail, broken, noCA} {
		if !strings.Contains(page.body, `<option value="`+task+`"`) {
			t.Fatalf("the Test form does not offer %s: %s", task, text(page.body))
		}
	}

	for _, c := range []struct {
		task, protocol, server, security, logged string
	}{
		{evmail, "IMAP", net.JoinHostPort(imapHost, imapPort), "SSL", "INBOX holds"},
		{batchmail, "SMTP", net.JoinHostPort(smtpHost, smtpPort), "STARTTLS", "accepts mail"},
	} {
		// Choosing the task fills in the form from the file, password aside.
		page = b.get(id + "/test?task=" + url.QueryEscape(c.task))
		if page.status != 200 || !strings.Contains(page.body, `value="`+c.server+`"`) || !regexpMatch(`<option selected>`+c.security+`</option>`, page.body) ||
			!regexpMatch(`<option selected>`+c.protocol+`</option>`, page.body) || !strings.Contains(page.body, `name="task" value="`+c.task+`"`) ||
			!strings.Contains(page.body, "signed by the CA in <code>"+h.CAFile+"</code>") {
			t.Fatalf("%s: the form is not filled from the task file: %d %s", c.task, page.status, text(page.body))
		}
		if strings.Contains(page.body, password) {
			t.Fatal("the task file's password is on the page")
		}
		r := b.post(id+"/test", url.Values{"protocol": {c.protocol}, "server": {c.server}, "security": {c.security},
			"user": {h.World.MSUser}, "task": {c.task}})
		if !strings.Contains(r.body, "Logged in to "+c.server) || !strings.Contains(r.body, c.logged) {
			t.Fatalf("%s with its CA: %s", c.task, text(r.body))
		}
		// By hand, without the task's CA: evadmin trusts only the system's CAs.
		r = b.post(id+"/test", url.Values{"protocol": {c.protocol}, "server": {c.server}, "security": {c.security}, "user": {h.World.MSUser}})
		if strings.Contains(r.body, "Logged in to ") || !strings.Contains(r.body, "certificate signed by unknown authority") ||
			!strings.Contains(r.body, "its CA is not trusted") {
			t.Fatalf("%s by hand without the CA: %s", c.task, text(r.body))
		}
	}

	// A broken task file: its problems with file and line, nothing tested.
	page = b.get(id + "/test?task=" + url.QueryEscape(broken))
	got := fieldSentences(t, page.body)["task"]
	if page.status != 400 || !strings.Contains(got, "Task file "+broken+": line 5: MAILBOX_PORT \"99999\" is not") {
		t.Fatalf("broken task file: %d %q", page.status, got)
	}
	// A CA file that is not there: named, with the key.
	r := b.post(id+"/test", url.Values{"protocol": {"SMTP"}, "server": {net.JoinHostPort(smtpHost, smtpPort)}, "security": {"STARTTLS"},
		"user": {h.World.MSUser}, "task": {noCA}})
	got = fieldSentences(t, r.body)["task"]
	if r.status != 400 || !strings.Contains(got, noCA+": MAIL_TLS_CA_FILE: "+filepath.Join(dir, "missing-ca.pem")) || strings.Contains(r.body, "Logged in to ") {
		t.Fatalf("missing CA file: %d %q", r.status, got)
	}
	// Only task files known to use the token are read.
	r = b.post(id+"/test", url.Values{"protocol": {"IMAP"}, "server": {"127.0.0.1:993"}, "security": {"SSL"}, "user": {"x"}, "task": {"/etc/passwd"}})
	if got := fieldSentences(t, r.body)["task"]; r.status != 400 || !strings.Contains(got, "is not a task file known to use support") || strings.Contains(r.body, "root:") {
		t.Fatalf("unknown task file: %d %q", r.status, got)
	}
}

func writeTask(t *testing.T, dir, name, text string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	text = "TOKEN_STORE = " + filepath.Join(dir, "tokens.db") + "\nTOKEN_STORE_KEY_FILE = " + filepath.Join(dir, "tokens.key") + "\n" + text
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// The Test button checks a Graph task without changing the mailbox: with
// a folder, that the token may read it; without, that it may send. An
// Exchange token is refused by Graph with the advice to use a Graph
// token; a folder that does not exist is named.
func TestTestButtonGraph(t *testing.T) {
	h := newHarness(t, func(h *harness, c *Config) { c.Tester = mailconn.Tester{RootCAs: h.Cert.Pool()} })
	b := h.browser().login()
	f := h.msForm("graph")
	f.Set("scope", provider.MicrosoftGraphSendScope+" "+provider.MicrosoftGraphReadWriteScope)
	id := b.addToken(f)
	b.getEmailToken(id, h.World.MSUser)
	graph := h.GraphURL + "/v1.0"
	r := b.post(id+"/test", url.Values{"protocol": {"GRAPH"}, "server": {graph}, "user": {h.World.MSUser}, "folder": {"Inbox"}})
	if !strings.Contains(r.body, "Graph lets the token read Inbox of "+h.World.MSUser) || !strings.Contains(r.body, `class="card result ok"`) {
		t.Fatalf("read check: %s", text(r.body))
	}
	r = b.post(id+"/test", url.Values{"protocol": {"GRAPH"}, "server": {graph}, "user": {h.World.MSUser}})
	if !strings.Contains(r.body, "Graph lets the token send as "+h.World.MSUser) || len(h.Graph.Sent()) != 0 {
		t.Fatalf("send check (%d sent): %s", len(h.Graph.Sent()), text(r.body))
	}
	r = b.post(id+"/test", url.Values{"protocol": {"GRAPH"}, "server": {graph}, "user": {h.World.MSUser}, "folder": {"Nowhere"}})
	if !strings.Contains(r.body, `class="card result bad"`) || !strings.Contains(r.body, "MAILBOX_FOLDER") {
		t.Fatalf("unknown folder: %s", text(r.body))
	}
	ex := b.addToken(h.msForm("exchange"))
	b.getEmailToken(ex, h.World.MSUser)
	r = b.post(ex+"/test", url.Values{"protocol": {"GRAPH"}, "server": {graph}, "user": {h.World.MSUser}})
	if !strings.Contains(r.body, "401 InvalidAuthenticationToken") || !strings.Contains(r.body, "not for Microsoft Graph") {
		t.Fatalf("an Exchange token: %s", text(r.body))
	}
	r = b.post(id+"/test", url.Values{"protocol": {"GRAPH"}, "server": {"http://graph.example.com/v1.0"}, "user": {h.World.MSUser}})
	if r.status != 400 || !strings.Contains(r.body, "https://") {
		t.Fatalf("a plain-http address elsewhere: %d %s", r.status, flashOrErrors(r.body))
	}
}
