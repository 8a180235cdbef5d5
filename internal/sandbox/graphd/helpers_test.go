package graphd

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/apitest"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/sandbox/imapd"
)

// fixture is the provider, a Microsoft-style IMAP server holding the
// world's mailboxes, and graphd over it, all on the provider's fake clock.
type fixture struct {
	*idptest.Sandbox
	imap *imapd.Server
	srv  *Server
	url  string
}

const graph = "https://graph.microsoft.com/"

func newFixture(t *testing.T, edit ...func(*Options)) *fixture {
	t.Helper()
	sb := idptest.New(t, idptest.Options{Start: idptest.Epoch})
	im := apitest.IMAP(t, provider.Microsoft, sb.Directory, sb.World.MSUser, sb.World.MSOtherUser, sb.World.MSSharedMailbox)
	srv, url := apitest.Start(t, Options{Directory: sb.Directory, IMAP: im, Clock: sb.Clock}, edit, New)
	return &fixture{Sandbox: sb, imap: im, srv: srv, url: url}
}

// userToken is a delegated Graph token of the world's user with perms
// (bare Graph permission names).
func (f *fixture) userToken(t *testing.T, perms ...string) string {
	t.Helper()
	if len(perms) == 0 {
		perms = []string{"Mail.ReadWrite", "Mail.Send"}
	}
	var scopes []string
	for _, p := range perms {
		scopes = append(scopes, graph+p)
	}
	return f.Token(t, provider.Microsoft, f.World.MSUser, scopes...)
}

// response is an answer read whole.
type response = apitest.Response

// apiErr is the error JSON of r.
func apiErr(t *testing.T, r *response) errorBody {
	t.Helper()
	var b errorBody
	if err := json.Unmarshal(r.Body, &b); err != nil {
		t.Fatalf("HTTP %d, not error JSON: %q", r.Status, r.Body)
	}
	return b
}

// do sends a request as a plain net/http client would: target is a path
// under the server (or a whole URL, such as a nextLink); headers come in
// name, value pairs.
func (f *fixture) do(t *testing.T, method, target, token string, body []byte, headers ...string) *response {
	t.Helper()
	if !strings.HasPrefix(target, "http") {
		target = f.url + target
	}
	return apitest.Do(t, method, target, token, body, headers...)
}

// wantError fails unless r is the Graph error status/code (and message,
// when not empty), with the innerError Graph always sends.
func wantError(t *testing.T, what string, r *response, status int, code, message string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("%s: HTTP %d %s, want %d %s", what, r.Status, r.Body, status, code)
	}
	b := apiErr(t, r)
	if b.Error.Code != code || (message != "" && b.Error.Message != message) {
		t.Fatalf("%s: %s %q, want %s %q", what, b.Error.Code, b.Error.Message, code, message)
	}
	if b.Error.InnerError.RequestID == "" || b.Error.InnerError.RequestID != r.Header.Get("request-id") || b.Error.InnerError.Date == "" {
		t.Errorf("%s: innerError %+v, request-id header %q", what, b.Error.InnerError, r.Header.Get("request-id"))
	}
}

// delta is one page of a delta response.
type delta struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
}

// deltaRound follows nextLinks from target to the deltaLink and returns
// every entry, the pages' sizes and the deltaLink.
func (f *fixture) deltaRound(t *testing.T, target, token string, headers ...string) (entries []map[string]any, pages []int, deltaLink string) {
	t.Helper()
	for range 100 {
		r := f.do(t, "GET", target, token, nil, headers...)
		if r.Status != http.StatusOK {
			t.Fatalf("delta %s: HTTP %d %s", target, r.Status, r.Body)
		}
		var d delta
		if err := json.Unmarshal(r.Body, &d); err != nil {
			t.Fatal(err)
		}
		entries = append(entries, d.Value...)
		pages = append(pages, len(d.Value))
		switch {
		case d.NextLink != "" && d.DeltaLink == "":
			target = d.NextLink
		case d.DeltaLink != "" && d.NextLink == "":
			return entries, pages, d.DeltaLink
		default:
			t.Fatalf("delta page with nextLink %q and deltaLink %q", d.NextLink, d.DeltaLink)
		}
	}
	t.Fatal("delta never ended")
	return nil, nil, ""
}

// msg is a small message with a subject.
func msg(subject string) []byte {
	return []byte("From: Alex <alex@contoso.example>\r\nTo: support@contoso.example\r\nSubject: " + subject +
		"\r\nMessage-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.net>\r\nDate: Mon, 02 Mar 2026 09:00:00 +0000\r\n\r\nBody of " + subject + ".\r\n")
}

func b64(b []byte) []byte { return []byte(base64.StdEncoding.EncodeToString(b)) }

// inboxIDs returns the ids and subjects of the user's INBOX from a first
// delta round.
func (f *fixture) inboxIDs(t *testing.T, token string) map[string]string {
	t.Helper()
	entries, _, _ := f.deltaRound(t, "/v1.0/users/"+f.World.MSUser+"/mailFolders/inbox/messages/delta", token)
	out := map[string]string{}
	for _, e := range entries {
		out[e["subject"].(string)] = e["id"].(string)
	}
	return out
}

func jsonInto(b []byte, v any) error { return json.Unmarshal(b, v) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
