package mailout

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/graph"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/gmaild"
	"mailtokens/internal/sandbox/sandboxtest"
	"mailtokens/internal/tokenstore"
)

// apiRig is the sandbox provider and its Graph-like or Gmail-API-like
// mail API, a token for it, and a batchmail task sending through it from
// a spool.
type apiRig struct {
	*sandboxtest.Env
	spool *Spool
	conf  string
}

// newGraphRig is an apiRig for Graph, with a token "graph" for Graph's
// Mail.Send and one "exchange" for Exchange's mail scopes.
func newGraphRig(t testing.TB, extra string) *apiRig {
	t.Helper()
	e := sandboxtest.New(t, sandboxtest.Graph(),
		sandboxtest.AuthorizedFor("graph", provider.Microsoft, provider.MicrosoftGraphSendScope),
		sandboxtest.Authorized("exchange", provider.Microsoft))
	return newAPIRig(t, e, fmt.Sprintf("MAIL_PROTOCOL = GRAPH\nMAIL_GRAPH_URL = %s/v1.0\nMAIL_USER = %s\nMAIL_TOKEN_NAME = graph\n%s",
		e.GraphURL, e.World.MSUser, extra))
}

// newGmailRig is an apiRig for the Gmail API, with a token "gmail" for
// gmail.send only; edit changes the server's options.
func newGmailRig(t testing.TB, extra string, edit ...func(*gmaild.Options)) *apiRig {
	t.Helper()
	e := sandboxtest.New(t, sandboxtest.GmailAPI(edit...),
		sandboxtest.AuthorizedFor("gmail", provider.Google, provider.GoogleGmailSendScope))
	return newAPIRig(t, e, fmt.Sprintf("MAIL_PROTOCOL = GMAIL_API\nMAIL_GMAIL_API_URL = %s\nMAIL_USER = %s\nMAIL_TOKEN_NAME = gmail\n%s",
		e.GmailAPIURL, e.World.GoogleUser, extra))
}

func newAPIRig(t testing.TB, e *sandboxtest.Env, keys string) *apiRig {
	t.Helper()
	e.Store.Close() // batchmail opens it, as in production
	dir := filepath.Join(t.TempDir(), "outbox")
	spool, err := OpenSpool(dir)
	if err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(t.TempDir(), "task.properties")
	text := fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nMAIL_AUTH_TYPE = OAUTH2\nMAIL_SPOOL_DIR = %s\nMAIL_RATE_PER_MINUTE = 0\n%s",
		e.StorePath, e.KeyFile, dir, keys)
	if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return &apiRig{Env: e, spool: spool, conf: conf}
}

func (r *apiRig) once(t *testing.T) (int, string) {
	t.Helper()
	var log logBuffer
	code := Program.Run(context.Background(), []string{"-conf", r.conf, "-once"}, strings.NewReader(""), &logBuffer{}, &log)
	return code, log.String()
}

// TestGraphSend: batchmail with MAIL_PROTOCOL = GRAPH sends each queued
// message once with Graph's sendMail, byte for byte as queued; Bcc
// recipients get it without seeing the Bcc, and the mailbox's Sent Items
// keeps a copy.
func TestGraphSend(t *testing.T) {
	r := newGraphRig(t, "")
	from := r.World.MSUser
	queue(t, r.spool, "a", testMessage(from, "a@example.net", "one", "first"))
	queue(t, r.spool, "b", testMessage(from, "b@example.net", "two", "second"))
	withBcc := crlf(fmt.Sprintf("From: %s\nTo: c@example.net\nBcc: hidden@example.net\nSubject: three\nMessage-ID: <three@test>\n\nthird\n", from))
	queue(t, r.spool, "c", withBcc)
	if code, log := r.once(t); code != 0 {
		t.Fatalf("exit %d\n%s", code, log)
	}
	sent := r.Graph.Sent()
	if len(sent) != 3 {
		t.Fatalf("Graph got %d messages, want 3", len(sent))
	}
	var three *struct {
		rcpts          []string
		raw, delivered string
		saved          bool
	}
	for _, s := range sent {
		if strings.Contains(string(s.Raw), "Subject: three") {
			three = &struct {
				rcpts          []string
				raw, delivered string
				saved          bool
			}{s.Recipients, string(s.Raw), string(s.Delivered), s.SavedToSentItems}
		}
	}
	if three == nil || three.raw != withBcc {
		t.Fatalf("the Bcc message did not reach Graph byte for byte: %+v", three)
	}
	if !slices.Equal(three.rcpts, []string{"c@example.net", "hidden@example.net"}) || strings.Contains(three.delivered, "hidden@") || !three.saved {
		t.Fatalf("Bcc: recipients %v, delivered copy names the Bcc: %v, saved to Sent Items: %v", three.rcpts, strings.Contains(three.delivered, "hidden@"), three.saved)
	}
	if n := len(files(t, r.spool, DirNew)); n != 0 {
		t.Fatalf("%d messages left in new/", n)
	}
	if n := len(files(t, r.spool, DirSent)); n != 3 {
		t.Fatalf("%d messages in sent/, want 3", n)
	}
	// Nothing queued: nothing sent again.
	if code, log := r.once(t); code != 0 || len(r.Graph.Sent()) != 3 {
		t.Fatalf("second pass: exit %d, %d sent\n%s", code, len(r.Graph.Sent()), log)
	}
}

// TestGraphThrottled: a 429 with Retry-After defers the message until
// then at least, and ends the pass; the next pass after it sends it once.
func TestGraphThrottled(t *testing.T) {
	r := newGraphRig(t, "")
	queue(t, r.spool, "a", testMessage(r.World.MSUser, "a@example.net", "one", "first"))
	r.Graph.InjectFaults(1, http.StatusTooManyRequests, 90*time.Second)
	before := time.Now()
	code, log := r.once(t)
	if code != 1 || len(r.Graph.Sent()) != 0 {
		t.Fatalf("throttled pass: exit %d, %d sent\n%s", code, len(r.Graph.Sent()), log)
	}
	st := mustState(t, r.spool, "a")
	if st.NextAttempt.Before(before.Add(90*time.Second)) || !strings.Contains(st.LastReply, "429 ApplicationThrottled") {
		t.Fatalf("deferred until %v (%v after), reply %q; want at least Retry-After (90 s)", st.NextAttempt, st.NextAttempt.Sub(before), st.LastReply)
	}
	// Due now: sent once.
	st.NextAttempt = time.Now().Add(-time.Second)
	if err := r.spool.saveState("a", st); err != nil {
		t.Fatal(err)
	}
	if code, log := r.once(t); code != 0 || len(r.Graph.Sent()) != 1 {
		t.Fatalf("after the pause: exit %d, %d sent\n%s", code, len(r.Graph.Sent()), log)
	}
}

// TestGraphRefusals: a token for Exchange instead of Graph is refused
// (401, wrong audience): the queue is kept and the log says to use a
// Graph token; a 400 for a message fails that message alone, with Graph's
// answer beside it.
func TestGraphRefusals(t *testing.T) {
	r := newGraphRig(t, "")
	queue(t, r.spool, "a", testMessage(r.World.MSUser, "a@example.net", "one", "first"))
	text, _ := os.ReadFile(r.conf)
	exchange := strings.Replace(string(text), "MAIL_TOKEN_NAME = graph", "MAIL_TOKEN_NAME = exchange", 1)
	os.WriteFile(r.conf, []byte(exchange), 0o600)
	code, log := r.once(t)
	if code != 1 || len(files(t, r.spool, DirNew)) != 1 || len(files(t, r.spool, DirFailed)) != 0 {
		t.Fatalf("wrong token: exit %d, new/ %v, failed/ %v\n%s", code, files(t, r.spool, DirNew), files(t, r.spool, DirFailed), log)
	}
	for _, want := range []string{"401 InvalidAuthenticationToken", "not for Microsoft Graph", "https://graph.microsoft.com/Mail.Send"} {
		if !strings.Contains(log, want) {
			t.Errorf("the log does not say %q:\n%s", want, log)
		}
	}

	os.WriteFile(r.conf, text, 0o600)
	r.Graph.InjectFaults(1, http.StatusBadRequest, 0)
	queue(t, r.spool, "b", testMessage(r.World.MSUser, "b@example.net", "two", "second"))
	code, log = r.once(t)
	if code != 1 || len(r.Graph.Sent()) != 1 {
		t.Fatalf("one refused, one sent: exit %d, %d sent\n%s", code, len(r.Graph.Sent()), log)
	}
	failed := files(t, r.spool, DirFailed)
	if len(failed) != 2 { // the message and the note beside it
		t.Fatalf("failed/ holds %v", failed)
	}
	note := readFile(t, filepath.Join(r.spool.Dir, DirFailed, failed[0]+replySuffix))
	if !strings.Contains(note, "400 UnknownError") || !strings.Contains(note, "the API's answer: {") || !strings.Contains(note, "Graph sendMail") {
		t.Fatalf("the note does not hold Graph's answer:\n%s", note)
	}
}

// BenchmarkGraphSend: batchmail's throughput through the sandbox's
// Graph-like sendMail (2,000 messages of about 20 KB, base64 MIME, one
// request each, at most four at a time per mailbox — here one).
func BenchmarkGraphSend(b *testing.B) {
	r := newGraphRig(b, "")
	st := r.OpenStore(b)
	benchSendWith(b, r.World.MSUser, func(c *Config) {
		g := &graph.Client{Base: r.GraphURL + "/v1.0", HTTP: graph.NewHTTPClient(nil),
			Tokens: st.Source("graph", tokenstore.ActorBatchmail), Mailbox: r.World.MSUser}
		c.API, c.APIName = g.SendMIME, "Graph sendMail"
	})
}

// BenchmarkSandboxSMTP: the same through the sandbox's Exchange-like SMTP
// server (STARTTLS, XOAUTH2), beside BenchmarkGraphSend.
func BenchmarkSandboxSMTP(b *testing.B) {
	r := newRig(b, rigOptions{})
	benchSend(b, r.dialer(b), r.World.MSUser)
}
