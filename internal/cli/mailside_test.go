package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/mailout"
	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/mailauth"
	"mailtokens/internal/sandbox/sandboxtest"
)

// A task whose mail server refuses the token is a fact about that task's
// login, shown everywhere an admin looks after one pass: the list, `token
// show --json` and /metrics name the task, the server and its reply, while
// the provider side stays valid and a rightly configured task keeps
// sending.
func TestMailSideFailureIsShown(t *testing.T) {
	w := newWorld(t, sandboxtest.Authorized("ms", provider.Microsoft), sandboxtest.SMTP(provider.Microsoft))
	addr := w.SMTP[provider.Microsoft].Addr[mailauth.RequireStartTLS]
	wrong := w.batchmailTask("wrong-user", addr, "nobody@"+strings.SplitN(w.World.MSUser, "@", 2)[1])
	right := w.batchmailTask("right-user", addr, w.World.MSUser)
	for _, task := range []string{wrong, right} {
		msg := fmt.Sprintf("From: %s\r\nTo: a@example.com\r\nSubject: hi\r\n\r\nhello\r\n", w.World.MSUser)
		if code, _, errs := runBatchmail(msg, "-conf", task, "enqueue", "-"); code != 0 {
			t.Fatalf("enqueue: %s", errs)
		}
	}
	if code, _, errs := runBatchmail("", "-conf", wrong, "-once"); code == 0 {
		t.Fatalf("batchmail with a wrong MAIL_USER succeeded:\n%s", errs)
	}
	if code, _, errs := runBatchmail("", "-conf", right, "-once"); code != 0 {
		t.Fatalf("batchmail with the right MAIL_USER failed after the wrong one:\n%s", errs)
	}

	var shown tokenJSON
	js := w.mustRun("", "token", "show", "ms", "--json")
	if err := json.Unmarshal([]byte(js), &shown); err != nil {
		t.Fatal(err)
	}
	if shown.Status != "valid" || shown.StatusText != "mail server refuses it" || shown.Health != "bad" || shown.FailingTasks != 1 {
		t.Fatalf("token show: status %s, %q (%s), %d failing", shown.Status, shown.StatusText, shown.Health, shown.FailingTasks)
	}
	states := map[string]taskJSON{}
	for _, task := range shown.Tasks {
		states[task.Task] = task
	}
	bad, good := states[wrong], states[right]
	if bad.State != "failing" || !strings.HasPrefix(bad.LastReply, "535") || bad.Failures == 0 || bad.FailingSince == nil ||
		bad.Program != "batchmail" || !strings.Contains(bad.Server, addr) {
		t.Fatalf("the failing task: %+v", bad)
	}
	if good.State != "stopped" || good.LastSuccessAt == nil || good.Failures != 0 {
		t.Fatalf("the working task: %+v", good)
	}
	if !strings.Contains(shown.Detail, bad.LastReply) || !strings.Contains(shown.Detail, "nobody@") {
		t.Fatalf("detail %q does not give the server's reply and the mailbox", shown.Detail)
	}
	if out := w.mustRun("", "token", "list"); !strings.Contains(out, "mail server refuses it") {
		t.Fatalf("token list:\n%s", out)
	}

	metrics := w.metrics(t)
	for _, want := range []string{
		`mailtokens_token_failing_tasks{token="ms",type="microsoft"} 1`,
		fmt.Sprintf(`mailtokens_task_login_failures_total{token="ms",type="microsoft",task=%q,program="batchmail",`, wrong),
		fmt.Sprintf(`mailtokens_task_last_login_failure_timestamp_seconds{token="ms",type="microsoft",task=%q,`, wrong),
		fmt.Sprintf(`mailtokens_task_last_login_success_timestamp_seconds{token="ms",type="microsoft",task=%q,`, right),
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// batchmailTask writes a batchmail task file for the token "ms" logging in
// as user over STARTTLS to addr, with its own spool.
func (w *world) batchmailTask(name, addr, user string) string {
	w.t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	text := fmt.Sprintf("TOKEN_STORE = %s\nTOKEN_STORE_KEY_FILE = %s\nMAIL_HOST = %s\nMAIL_PORT = %s\nMAIL_SECURITY = STARTTLS\n"+
		"MAIL_TLS_CA_FILE = %s\nMAIL_USER = %s\nMAIL_AUTH_TYPE = OAUTH2\nMAIL_TOKEN_NAME = ms\nMAIL_SPOOL_DIR = %s\n",
		w.StorePath, w.KeyFile, host, port, w.CAFile, user, filepath.Join(w.Dir, name+"-spool"))
	path := filepath.Join(w.Dir, name+".properties")
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		w.t.Fatal(err)
	}
	return path
}

func runBatchmail(stdin string, args ...string) (int, string, string) {
	var out, errb bytes.Buffer
	code := mailout.Program.Run(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// metrics runs `evadmin serve` with a metrics token and returns /metrics.
func (w *world) metrics(t *testing.T) string {
	t.Helper()
	tokenFile := filepath.Join(w.Dir, "metrics.token")
	os.WriteFile(tokenFile, []byte("s3cret-metrics\n"), 0o600)
	conf, _ := os.ReadFile(w.conf)
	os.WriteFile(w.conf, append(conf, []byte("METRICS_TOKEN_FILE = "+tokenFile+"\n")...), 0o600)
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{Env: &cmdline.Env{Ctx: ctx, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, Conf: w.conf}}
	ready := make(chan string, 1)
	served := make(chan error, 1)
	go func() { served <- Serve(env, func(addr string) { ready <- addr }) }()
	defer func() { cancel(); <-served }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-served:
		t.Fatalf("serve: %v", err)
	}
	req, _ := http.NewRequest("GET", "http://"+addr+"/metrics", nil)
	req.Header.Set("Authorization", "Bearer s3cret-metrics")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("/metrics: %d %s", resp.StatusCode, body)
	}
	return string(body)
}
