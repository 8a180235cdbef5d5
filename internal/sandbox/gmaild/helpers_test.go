package gmaild

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/apitest"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/sandbox/imapd"
)

const (
	full     = "https://mail.google.com/"
	modify   = "https://www.googleapis.com/auth/gmail.modify"
	readonly = "https://www.googleapis.com/auth/gmail.readonly"
	sendOnly = "https://www.googleapis.com/auth/gmail.send"
	// colleague has a mailbox in the IMAP server (a recipient), not a
	// user at the provider.
	colleague = "colleague@gmail.example"
)

type fixture struct {
	*idptest.Sandbox
	imap *imapd.Server
	srv  *Server
	url  string
	user string
}

func newFixture(t *testing.T, edit ...func(*Options)) *fixture {
	t.Helper()
	sb := idptest.New(t, idptest.Options{Start: idptest.Epoch})
	im := apitest.IMAP(t, provider.Google, sb.Directory, sb.World.GoogleUser, colleague)
	srv, url := apitest.Start(t, Options{Directory: sb.Directory, IMAP: im, Clock: sb.Clock}, edit, New)
	return &fixture{Sandbox: sb, imap: im, srv: srv, url: url, user: sb.World.GoogleUser}
}

func (f *fixture) token(t *testing.T, scopes ...string) string {
	t.Helper()
	return f.Token(t, provider.Google, f.user, scopes...)
}

type response = apitest.Response

// do sends a request to the server as a plain net/http client would;
// headers come in name, value pairs.
func (f *fixture) do(t *testing.T, method, path, token string, body []byte, headers ...string) *response {
	t.Helper()
	return apitest.Do(t, method, f.url+path, token, body, headers...)
}

// get is a GET that must answer 200 with JSON.
func (f *fixture) get(t *testing.T, path, token string) map[string]any {
	t.Helper()
	r := f.do(t, "GET", path, token, nil)
	if r.Status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", path, r.Status, r.Body)
	}
	return r.JSON(t)
}

// wantError fails unless r is Google's error JSON with status, reason and
// (when not empty) message.
func wantError(t *testing.T, what string, r *response, status int, reason, message string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: HTTP %d %s, want %d %s", what, r.Status, r.Body, status, reason)
	}
	var b errorBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("%s: not error JSON: %q", what, r.Body)
	}
	if b.Error.Code != status || len(b.Error.Errors) != 1 || b.Error.Errors[0].Reason != reason ||
		b.Error.Errors[0].Domain != "global" || b.Error.Status != grpcStatus[status] ||
		(message != "" && b.Error.Message != message) {
		t.Fatalf("%s: %s, want %d %s %q", what, r.Body, status, reason, message)
	}
}

func msg(subject string) []byte {
	return []byte("From: Alex <alex@example.net>\r\nTo: support.team@gmail.example\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.net>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nBody of " + subject + ".\r\n")
}

const me = "/gmail/v1/users/me"

// ids lists the ids of messages.list with query q, following pages.
func (f *fixture) ids(t *testing.T, token, q string) []string {
	t.Helper()
	var out []string
	tok := ""
	for range 100 {
		p := me + "/messages?" + q
		if tok != "" {
			p += "&pageToken=" + tok
		}
		v := f.get(t, p, token)
		list, _ := v["messages"].([]any)
		for _, m := range list {
			out = append(out, m.(map[string]any)["id"].(string))
		}
		tok, _ = v["nextPageToken"].(string)
		if tok == "" {
			return out
		}
	}
	t.Fatal("listing never ended")
	return nil
}

func labelsOf(v map[string]any) []string {
	var out []string
	for _, l := range v["labelIds"].([]any) {
		out = append(out, l.(string))
	}
	return out
}
