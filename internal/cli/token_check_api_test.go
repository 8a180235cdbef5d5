package cli

import (
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/sandboxtest"
)

// TestTokenTestWebAPIs: token test --graph / --gmail-api says whether a
// token may read a folder and send as the mailbox, without changing it:
// a Graph token reads and may send; an Exchange token is refused by
// Graph with the advice to use a Graph token; a send-only Gmail token may
// send but not read, and says which scope reading needs.
func TestTokenTestWebAPIs(t *testing.T) {
	w := newWorld(t, sandboxtest.Graph(), sandboxtest.GmailAPI(),
		sandboxtest.AuthorizedFor("graph", provider.Microsoft, provider.MicrosoftGraphSendScope, provider.MicrosoftGraphReadWriteScope),
		sandboxtest.Authorized("exchange", provider.Microsoft),
		sandboxtest.AuthorizedFor("gmail-send", provider.Google, provider.GoogleGmailSendScope))
	w.Store.Close()
	graph := w.GraphURL + "/v1.0"
	if out := w.mustRun("", "token", "test", "graph", "--graph", graph, "--read", "Inbox"); !strings.Contains(out, "OK: Graph lets the token read Inbox of "+w.World.MSUser) {
		t.Errorf("graph read: %s", out)
	}
	if out := w.mustRun("", "token", "test", "graph", "--graph", graph); !strings.Contains(out, "OK: Graph lets the token send as "+w.World.MSUser) {
		t.Errorf("graph send: %s", out)
	}
	if len(w.Graph.Sent()) != 0 {
		t.Errorf("the send check sent %d message(s)", len(w.Graph.Sent()))
	}
	code, _, errs := w.run("", "token", "test", "exchange", "--graph", graph)
	if code != ExitFail || !strings.Contains(errs, "401 InvalidAuthenticationToken") || !strings.Contains(errs, "not for Microsoft Graph") {
		t.Errorf("an Exchange token at Graph: exit %d\n%s", code, errs)
	}
	if out := w.mustRun("", "token", "test", "gmail-send", "--gmail-api", w.GmailAPIURL); !strings.Contains(out, "OK: the Gmail API lets the token send as "+w.World.GoogleUser) {
		t.Errorf("gmail send: %s", out)
	}
	if len(w.GmailAPI.Sent()) != 0 {
		t.Errorf("the send check sent %d message(s)", len(w.GmailAPI.Sent()))
	}
	code, _, errs = w.run("", "token", "test", "gmail-send", "--gmail-api", w.GmailAPIURL, "--read", "INBOX")
	if code != ExitFail || !strings.Contains(errs, "insufficientPermissions") || !strings.Contains(errs, "gmail.modify") {
		t.Errorf("a send-only token reading: exit %d\n%s", code, errs)
	}
}
