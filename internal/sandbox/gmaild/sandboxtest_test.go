package gmaild_test

import (
	"encoding/base64"
	"encoding/json"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/apitest"
	"mailtokens/internal/sandbox/sandboxtest"
)

// sandboxtest.GmailAPI starts gmaild over the Google-style IMAP server:
// mail appended there is listed and read byte for byte.
func TestSandboxtestGmailAPI(t *testing.T) {
	env := sandboxtest.New(t, sandboxtest.FakeClock(sandboxtest.Epoch), sandboxtest.GmailAPI())
	if env.GmailAPI == nil || env.GmailAPIURL == "" || env.IMAP[provider.Google] == nil {
		t.Fatalf("GmailAPI %v at %q, IMAP %v", env.GmailAPI, env.GmailAPIURL, env.IMAP)
	}
	raw := []byte("Subject: via IMAP\r\n\r\nhello\r\n")
	if _, err := env.IMAP[provider.Google].Server.Append(env.World.GoogleUser, "INBOX", raw); err != nil {
		t.Fatal(err)
	}
	tok := env.Token(t, provider.Google, env.World.GoogleUser, "https://www.googleapis.com/auth/gmail.readonly")
	get := func(path string, v any) {
		t.Helper()
		r := apitest.Do(t, "GET", env.GmailAPIURL+"/gmail/v1/users/me"+path, tok, nil)
		if r.Status != 200 {
			t.Fatalf("GET %s: HTTP %d", path, r.Status)
		}
		if err := json.Unmarshal(r.Body, v); err != nil {
			t.Fatal(err)
		}
	}
	var list struct{ Messages []struct{ ID string } }
	get("/messages?labelIds=INBOX", &list)
	if len(list.Messages) != 1 {
		t.Fatalf("listed %+v", list)
	}
	var m struct{ Raw string }
	get("/messages/"+list.Messages[0].ID+"?format=raw", &m)
	if got, _ := base64.URLEncoding.DecodeString(m.Raw); string(got) != string(raw) {
		t.Errorf("raw %q", got)
	}
}
