package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"mailtokens/internal/cli"
	"mailtokens/internal/mailin"
	"mailtokens/internal/mailout"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/dovecot"
	"mailtokens/internal/sandbox/oidcprovider"
	"mailtokens/internal/secret"
	"mailtokens/internal/tokenstore"
)

// The accounts and clients every world has.
const (
	user     = oidcprovider.DefaultUser  // the login typed on the sign-in page (sub)
	mailbox  = oidcprovider.DefaultEmail // the email claim: the mailbox at Dovecot
	password = "any password"            // devInteractions take any

	postClient   = "web-post" // token endpoint: client_secret_post only
	basicClient  = "web-basic"
	publicClient = "public" // none: PKCE, no secret
	clientSecret = "s3cret-of-the-web-app"

	mailScope = "openid email offline_access"
)

// world is one test's independent server, Dovecot introspecting its
// tokens, and an evadmin configuration (store, key, LISTEN) whose
// redirect URI the server's clients have registered.
type world struct {
	t                  *testing.T
	dir, conf          string
	storePath, keyFile string
	listen, redirect   string
	op                 *oidcprovider.Server
	dc                 *dovecot.Server
	seq                atomic.Int64
}

// newWorld starts oidc-provider with opt plus the three clients above, and
// a Dovecot with TLS that introspects its tokens as the server's Dovecot
// client and takes the mailbox from the email field.
func newWorld(t *testing.T, opt oidcprovider.Options) *world {
	t.Helper()
	// Dovecot first: it says best why a machine cannot run these tests.
	dovecot.Require(t)
	oidcprovider.Require(t)
	w := &world{t: t, dir: t.TempDir()}
	w.listen = freeAddr(t)
	w.redirect = "http://" + w.listen + "/oauth2/callback"
	redirects := []string{w.redirect}
	opt.Clients = append(opt.Clients,
		oidcprovider.Client{ID: postClient, Secret: clientSecret, AuthMethod: oidcprovider.ClientSecretPost, RedirectURIs: redirects},
		oidcprovider.Client{ID: basicClient, Secret: clientSecret, AuthMethod: oidcprovider.ClientSecretBasic, RedirectURIs: redirects},
		oidcprovider.Client{ID: publicClient, AuthMethod: oidcprovider.None, RedirectURIs: redirects},
	)
	w.op = oidcprovider.Start(t, opt)
	w.dc = dovecot.Start(t, dovecot.Options{IntrospectionURL: w.op.DovecotIntrospectionURL(), UsernameAttribute: "email", TLS: true})
	w.storePath, w.keyFile = filepath.Join(w.dir, "tokens.db"), filepath.Join(w.dir, "tokens.key")
	w.conf = filepath.Join(w.dir, "evadmin.properties")
	w.write(w.conf, fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nLISTEN = %s\nPUBLIC_URL = http://%s\nLOG_LEVEL = WARN\n",
		w.storePath, w.keyFile, w.listen, w.listen))
	return w
}

func freeAddr(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func (w *world) write(path, text string) {
	w.t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
}

// evadmin runs evadmin's command line with stdin.
func (w *world) evadmin(stdin string, args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = cli.Run(context.Background(), append([]string{"-conf", w.conf}, args...), strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

func (w *world) mustEvadmin(stdin string, args ...string) string {
	w.t.Helper()
	code, out, errs := w.evadmin(stdin, args...)
	if code != cli.ExitOK {
		w.t.Fatalf("evadmin %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// addToken is what an admin does today for an "Other OAuth2 provider":
// `evadmin token add` with the server's authorization and token URLs, the
// client and the scope.
func (w *world) addToken(name, client, scope string) {
	w.t.Helper()
	args := []string{"token", "add", name, "--type", "generic", "--client-id", client, "--email", mailbox,
		"--auth-url", w.op.AuthURL, "--token-url", w.op.TokenURL, "--scope", scope}
	stdin := clientSecret + "\n"
	if client == publicClient {
		args, stdin = append(args, "--no-client-secret"), ""
	}
	w.mustEvadmin(stdin, args...)
}

// createToken stores a token's settings directly: for settings that
// `token add` has no flags for yet (issue 12's discovery, device and
// revocation URLs, client authentication, extra parameters).
func (w *world) createToken(set tokenstore.Settings) {
	w.t.Helper()
	st, err := tokenstore.Open(context.Background(), tokenstore.Options{Path: w.storePath, KeyFile: w.keyFile})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	if set.Type == "" {
		set.Type = provider.Generic
	}
	if set.Email == "" {
		set.Email = mailbox
	}
	if set.ClientID != publicClient && set.ClientSecret.IsZero() {
		set.ClientSecret = secret.New(clientSecret)
	}
	if _, err := st.Create(context.Background(), set, tokenstore.ActorCLI); err != nil {
		w.t.Fatal(err)
	}
}

// token reads a token from the store, secrets revealed.
func (w *world) token(name string) *tokenstore.Token {
	w.t.Helper()
	st, err := tokenstore.Open(context.Background(), tokenstore.Options{Path: w.storePath, KeyFile: w.keyFile, MustExist: true})
	if err != nil {
		w.t.Fatal(err)
	}
	defer st.Close()
	tok, err := st.Get(context.Background(), name)
	if err != nil {
		w.t.Fatal(err)
	}
	return tok
}

// loginTimeout bounds one `token login`; a device sign-in waits at least
// one polling interval (5 s at oidc-provider).
const loginTimeout = time.Minute

var deviceLine = regexp.MustCompile(`open the page (\S+) and enter the code (\S+) to authenticate`)

// login runs `evadmin token login NAME` (with --device when device) and
// plays the person: it opens the address evadmin prints, signs in at
// oidc-provider's pages and lets the browser come back to evadmin's
// redirect URI (LISTEN); or, for the device flow, types the code evadmin
// shows on the server's device page. It returns evadmin's exit code and
// output.
func (w *world) login(name string, device bool) (code int, stdout, stderr string) {
	w.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), loginTimeout)
	defer cancel()
	args := []string{"-conf", w.conf, "token", "login", name}
	if device {
		args = append(args, "--device")
	}
	pr, pw := io.Pipe()
	var errb bytes.Buffer
	exited := make(chan int, 1)
	go func() {
		code := cli.Run(ctx, args, strings.NewReader(""), pw, &errb)
		pw.Close()
		exited <- code
	}()
	var out strings.Builder
	sc := bufio.NewScanner(pr)
	var personErr error
	for sc.Scan() {
		line := sc.Text()
		out.WriteString(line + "\n")
		if personErr != nil {
			continue
		}
		if m := deviceLine.FindStringSubmatch(line); device && m != nil {
			if m[1] != w.op.Issuer+"/device" {
				personErr = fmt.Errorf("verification URI %s, want the server's %s/device", m[1], w.op.Issuer)
				cancel()
				continue
			}
			personErr = w.op.ApproveDevice(ctx, m[2], user, password)
		}
		if u, ok := strings.CutPrefix(strings.TrimSpace(line), "http"); ok && !device && strings.Contains(line, "redirect_uri=") {
			personErr = w.signIn(ctx, "http"+u)
		}
		if personErr != nil {
			cancel()
		}
	}
	code = <-exited
	if personErr != nil {
		w.t.Fatalf("signing in for evadmin token login %s: %v\nevadmin printed:\n%s%s", name, personErr, out.String(), errb.String())
	}
	return code, out.String(), errb.String()
}

// signIn signs in at the server and follows its redirect back to evadmin.
func (w *world) signIn(ctx context.Context, authURL string) error {
	back, err := w.op.SignIn(ctx, authURL, user, password)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(back.String(), w.redirect+"?") {
		return fmt.Errorf("the server sent the browser to %s, not to %s", back, w.redirect)
	}
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, back.String(), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("back at evadmin: %w", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("back at evadmin: %s: %s", resp.Status, body)
	}
	return nil
}

func (w *world) mustLogin(name string, device bool) string {
	w.t.Helper()
	code, out, errs := w.login(name, device)
	if code != cli.ExitOK {
		w.t.Fatalf("evadmin token login %s: exit %d\n%s%s", name, code, out, errs)
	}
	return out
}

// receive puts a new message into the mailbox at Dovecot and runs
// `evmail -once` with IMAP over TLS and the token; the message must arrive
// in the task's Maildir.
func (w *world) receive(name string) {
	w.t.Helper()
	n := w.seq.Add(1)
	subject := fmt.Sprintf("inbound %d via %s", n, name)
	w.dc.Deliver(w.t, mailbox, fmt.Appendf(nil, "From: someone@example.org\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <in-%d@example.org>\r\n\r\nhello\r\n", mailbox, subject, n))
	host, port, _ := net.SplitHostPort(w.dc.IMAPSAddr)
	inbox := filepath.Join(w.dir, "inbox-"+name)
	task := filepath.Join(w.dir, "evmail-"+name+".properties")
	w.write(task, fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nMAILBOX_PROTOCOL = IMAP\nMAILBOX_HOST = %s\nMAILBOX_PORT = %s\n"+
		"MAILBOX_SECURITY = SSL\nMAILBOX_TLS_CA_FILE = %s\nMAILBOX_USER = %s\nMAILBOX_AUTH_TYPE = OAUTH2\nMAILBOX_EMAIL_TOKEN_NAME = %s\n"+
		"MAILBOX_DELIVER_TO = maildir:%s\nLOG_LEVEL = DEBUG\n",
		w.storePath, w.keyFile, host, port, w.dc.CAFile, mailbox, name, inbox))
	var log bytes.Buffer
	if code := mailin.Program.Run(context.Background(), []string{"-conf", task, "-once"}, strings.NewReader(""), io.Discard, &log); code != 0 {
		w.t.Fatalf("evmail -once with token %s: exit %d\n%s\nDovecot:\n%s", name, code, log.String(), w.dc.Log())
	}
	for _, dir := range []string{"new", "cur"} {
		files, _ := os.ReadDir(filepath.Join(inbox, dir))
		for _, f := range files {
			data, _ := os.ReadFile(filepath.Join(inbox, dir, f.Name()))
			if bytes.Contains(data, []byte("Subject: "+subject+"\r\n")) || bytes.Contains(data, []byte("Subject: "+subject+"\n")) {
				return
			}
		}
	}
	w.t.Fatalf("evmail -once with token %s exited 0 but %q is not in %s\n%s", name, subject, inbox, log.String())
}

// send queues a message and runs `batchmail -once` through Dovecot's
// submission (STARTTLS) with the token; Dovecot must relay it.
func (w *world) send(name string) {
	w.t.Helper()
	n := w.seq.Add(1)
	subject := fmt.Sprintf("outbound %d via %s", n, name)
	host, port, _ := net.SplitHostPort(w.dc.SubmissionAddr)
	task := filepath.Join(w.dir, "batchmail-"+name+".properties")
	w.write(task, fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nMAIL_HOST = %s\nMAIL_PORT = %s\nMAIL_SECURITY = STARTTLS\n"+
		"MAIL_TLS_CA_FILE = %s\nMAIL_USER = %s\nMAIL_AUTH_TYPE = OAUTH2\nMAIL_TOKEN_NAME = %s\nMAIL_SPOOL_DIR = %s\nLOG_LEVEL = DEBUG\n",
		w.storePath, w.keyFile, host, port, w.dc.CAFile, mailbox, name, filepath.Join(w.dir, "outbox-"+name)))
	msg := fmt.Sprintf("From: %s\r\nTo: someone@example.org\r\nSubject: %s\r\nMessage-ID: <out-%d@example.test>\r\n\r\nhello\r\n", mailbox, subject, n)
	before := len(w.dc.Sink.Messages(w.t))
	var log bytes.Buffer
	if code := mailout.Program.Run(context.Background(), []string{"-conf", task, "enqueue", "-"}, strings.NewReader(msg), io.Discard, &log); code != 0 {
		w.t.Fatalf("batchmail enqueue: exit %d\n%s", code, log.String())
	}
	if code := mailout.Program.Run(context.Background(), []string{"-conf", task, "-once"}, strings.NewReader(""), io.Discard, &log); code != 0 {
		w.t.Fatalf("batchmail -once with token %s: exit %d\n%s\nDovecot:\n%s", name, code, log.String(), w.dc.Log())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	msgs := w.dc.Sink.WaitMessages(ctx, w.t, before+1)
	if !bytes.Contains(msgs[len(msgs)-1].Data, []byte("Subject: "+subject)) {
		w.t.Fatalf("Dovecot relayed something else than %q", subject)
	}
}

// checkActive asks the server, as Dovecot does, about an access token.
func (w *world) checkActive(access secret.Secret, want bool) {
	w.t.Helper()
	got, err := w.op.Introspect(context.Background(), access.Reveal())
	if err != nil {
		w.t.Fatal(err)
	}
	if got["active"] != want || want && got["email"] != mailbox {
		js, _ := json.Marshal(got)
		w.t.Fatalf("introspection of the stored access token: %s, want active %v for %s", js, want, mailbox)
	}
}

// redeemRefreshToken presents a refresh token at the server directly as
// client (authenticating the way that client is registered for) and
// returns the HTTP status and the error code of the answer.
func (w *world) redeemRefreshToken(client, refresh string) (int, string) {
	w.t.Helper()
	form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {client}}
	if client == postClient {
		form.Set("client_secret", clientSecret)
	}
	req, _ := http.NewRequest(http.MethodPost, w.op.TokenURL, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if client == basicClient {
		req.SetBasicAuth(client, clientSecret)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		w.t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&e)
	return resp.StatusCode, e.Error
}
