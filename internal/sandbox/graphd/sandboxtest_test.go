package graphd_test

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"mailtokens/internal/provider"
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
	req, _ := http.NewRequest("GET", env.GraphURL+"/v1.0/users/"+env.World.MSUser+"/mailFolders/inbox/messages/delta", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"subject":"via IMAP"`) {
		t.Fatalf("HTTP %d %s", resp.StatusCode, body)
	}
}
