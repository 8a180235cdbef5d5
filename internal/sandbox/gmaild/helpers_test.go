package gmaild

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/sandbox/imapd"
	"mailtokens/internal/sandbox/mailauth"
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
	im, err := imapd.New(imapd.Options{ServerOptions: mailauth.ServerOptions{Style: provider.Google, Directory: sb.Directory}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { im.Close() })
	im.AddMailbox(sb.World.GoogleUser)
	im.AddMailbox(colleague)
	opt := Options{Directory: sb.Directory, IMAP: im, Clock: sb.Clock}
	for _, e := range edit {
		e(&opt)
	}
	srv, err := New(opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	url, err := srv.Listen()
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{Sandbox: sb, imap: im, srv: srv, url: url, user: sb.World.GoogleUser}
}

func (f *fixture) token(t *testing.T, scopes ...string) string {
	t.Helper()
	return f.Token(t, provider.Google, f.user, scopes...)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) json(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("HTTP %d, not JSON: %q", r.status, r.body)
	}
	return v
}

// do sends a request as a plain net/http client would; headers come in
// name, value pairs.
func (f *fixture) do(t *testing.T, method, path, token string, body []byte, headers ...string) *response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, f.url+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: data}
}

// get is a GET that must answer 200 with JSON.
func (f *fixture) get(t *testing.T, path, token string) map[string]any {
	t.Helper()
	r := f.do(t, "GET", path, token, nil)
	if r.status != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", path, r.status, r.body)
	}
	return r.json(t)
}

// wantError fails unless r is Google's error JSON with status, reason and
// (when not empty) message.
func wantError(t *testing.T, what string, r *response, status int, reason, message string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: HTTP %d %s, want %d %s", what, r.status, r.body, status, reason)
	}
	var b errorBody
	if err := json.Unmarshal(r.body, &b); err != nil {
		t.Fatalf("%s: not error JSON: %q", what, r.body)
	}
	if b.Error.Code != status || len(b.Error.Errors) != 1 || b.Error.Errors[0].Reason != reason ||
		b.Error.Errors[0].Domain != "global" || b.Error.Status != grpcStatus[status] ||
		(message != "" && b.Error.Message != message) {
		t.Fatalf("%s: %s, want %d %s %q", what, r.body, status, reason, message)
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
