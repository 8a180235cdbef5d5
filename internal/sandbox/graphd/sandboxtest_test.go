package graphd_test

import (
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/apitest"
	"mailtokens/internal/sandbox/sandboxtest"
)

// sandboxtest.Graph starts graphd over the Microsoft-style IMAP server:
// mail appended there is in the delta, on the world's clock.
func TestSandboxtestGraph(t *testing.T) {
	env := sandboxtest.New(t, sandboxtest.FakeClock(sandboxtest.Epoch), sandboxtest.Graph())
	if env.Graph == nil || env.GraphURL == "" || env.IMAP[provider.Microsoft] == nil {
		t.Fatalf("Graph %v at %q, IMAP %v", env.Graph, env.GraphURL, env.IMAP)
	}
	if _, err := env.IMAP[provider.Microsoft].Server.Append(env.World.MSUser, "INBOX",
		[]byte("Subject: via IMAP\r\n\r\nhello\r\n")); err != nil {
		t.Fatal(err)
	}
	tok := env.Token(t, provider.Microsoft, env.World.MSUser, "https://graph.microsoft.com/Mail.Read")
	r := apitest.Do(t, "GET", env.GraphURL+"/v1.0/users/"+env.World.MSUser+"/mailFolders/inbox/messages/delta", tok, nil)
	if r.Status != 200 || !strings.Contains(string(r.Body), `"subject":"via IMAP"`) {
		t.Fatalf("HTTP %d %s", r.Status, r.Body)
	}
}
