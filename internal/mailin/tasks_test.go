package mailin

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/syncbuf"
	"mailtokens/internal/worker"
)

// taskIn writes the task file name.properties into dir: the rig's task
// with keys on top (see rig.task).
func (r *rig) taskIn(dir, name string, keys map[string]string) string {
	r.t.Helper()
	written := r.task(".staging-"+name, keys)
	path := filepath.Join(dir, name+".properties")
	if err := os.Rename(written, path); err != nil {
		r.t.Fatal(err)
	}
	return path
}

// startTasks runs `evmail -tasks dir` in this process until the test
// ends; the test sends SIGHUP on the channel.
func (r *rig) startTasks(dir string) (*syncbuf.Buffer, chan<- os.Signal) {
	log := &syncbuf.Buffer{}
	hup := make(chan os.Signal, 1)
	ctx, cancel := context.WithCancel(cmdline.WithHangups(context.Background(), hup))
	done := make(chan int, 1)
	go func() { done <- evmail(ctx, []string{"-tasks", dir}, log) }()
	r.t.Cleanup(func() {
		cancel()
		select {
		case code := <-done:
			if code != 0 {
				r.t.Errorf("evmail -tasks exited %d after a SIGTERM-like stop", code)
			}
		case <-time.After(30 * time.Second):
			r.t.Error("evmail -tasks did not stop")
		}
		r.noSecretsIn(log.String())
	})
	return log, hup
}

// linesOf is the log lines of the task file name that match re.
func linesOf(log, name, re string) int {
	m := regexp.MustCompile(re)
	n := 0
	for line := range strings.Lines(log) {
		if strings.Contains(line, " task="+name+".properties") && m.MatchString(line) {
			n++
		}
	}
	return n
}

// crashOnce makes the task file path panic the first time it starts.
func crashOnce(t *testing.T, path string) {
	var once sync.Once
	taskStarts = func(p string) {
		if p == path {
			once.Do(func() { panic("injected crash") })
		}
	}
	t.Cleanup(func() { taskStarts = nil })
}

// TestTasksDirectory: one evmail process runs 200 task files (one folder
// of the mailbox each, the same token for all) beside a task whose server
// is dead, one whose token the server refuses, one that crashes at its
// first start and a file that does not load. Every message of the 200 is
// delivered exactly once; the bad file is reported with file:line and
// skipped; the crash is logged with its stack and the task restarts and
// delivers; the two failing tasks keep failing on their own.
func TestTasksDirectory(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 20
	}
	r := newRig(t)
	dir := filepath.Join(r.Dir, "tasks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	out := func(i int) string { return filepath.Join(r.Dir, "out", fmt.Sprintf("f%03d", i)) }
	for i := range n {
		r.taskIn(dir, fmt.Sprintf("f%03d", i), map[string]string{"MAILBOX_FOLDER": fmt.Sprintf("F%03d", i),
			"MAILBOX_DELIVER_TO": "maildir:" + out(i), "LOG_LEVEL": "INFO"})
		if _, err := r.imap.Append(r.World.MSUser, fmt.Sprintf("F%03d", i), message(i, "before the start")); err != nil {
			t.Fatal(err)
		}
	}
	deadHost, deadPort := splitAddr(reserve(t))
	r.taskIn(dir, "dead-server", map[string]string{"MAILBOX_HOST": deadHost, "MAILBOX_PORT": deadPort,
		"MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "dead")})
	r.taskIn(dir, "refused", map[string]string{"MAILBOX_USER": "nobody@contoso.example",
		"MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "refused")})
	crashing := r.taskIn(dir, "crashing", map[string]string{"MAILBOX_FOLDER": "Crash",
		"MAILBOX_DELIVER_TO": "maildir:" + filepath.Join(r.Dir, "crash")})
	bad := r.taskIn(dir, "bad", map[string]string{"MAILBOX_PORT": "many"})
	crashOnce(t, crashing)
	r.imap.Append(r.World.MSUser, "Crash", message(1000, "for the crashing task"))

	log, _ := r.startTasks(dir)
	all := func() bool {
		for i := range n {
			if len(maildir(t, out(i))) != 1 {
				return false
			}
		}
		return true
	}
	waitFor(t, fmt.Sprintf("the %d mailboxes' first messages", n), all)
	for i := range n {
		r.imap.Append(r.World.MSUser, fmt.Sprintf("F%03d", i), message(n+i, "while running"))
	}
	waitFor(t, "the second messages", func() bool {
		for i := range n {
			if len(maildir(t, out(i))) != 2 {
				return false
			}
		}
		return true
	})
	waitFor(t, "the crashed task's delivery", func() bool { return len(maildir(t, filepath.Join(r.Dir, "crash"))) == 1 })
	for i := range n {
		for id, c := range deliveredCounts(t, out(i)) {
			if c != 1 {
				t.Fatalf("folder F%03d: %s delivered %d times", i, id, c)
			}
		}
	}
	text := log.String()
	for _, want := range []struct{ task, re string }{
		{"bad", `task file skipped.*` + regexp.QuoteMeta(bad) + `:\d+: MAILBOX_PORT: `},
		{"crashing", `the task crashed.*injected crash.*goroutine`},
		{"dead-server", `cannot receive.*connection refused`},
		{"refused", `cannot receive.*(?i)auth`},
	} {
		if linesOf(text, want.task, want.re) == 0 {
			t.Errorf("the log has no line of %s.properties matching %s", want.task, want.re)
		}
	}
	for _, d := range []string{"dead", "refused"} {
		if got := maildir(t, filepath.Join(r.Dir, d)); len(got) != 0 {
			t.Errorf("%s delivered %v", d, got)
		}
	}
	// What `evmail -tasks DIR status` says of them.
	var stdout, stderr strings.Builder
	code := Program.Run(context.Background(), []string{"-tasks", dir, "status", "--json"}, strings.NewReader(""), &stdout, &stderr)
	if code != 1 {
		t.Errorf("status exited %d with failing tasks, want 1\n%s", code, stderr.String())
	}
	var st worker.ProcessStatus
	if err := json.Unmarshal([]byte(stdout.String()), &st); err != nil {
		t.Fatalf("status --json: %v\n%s", err, stdout.String())
	}
	states := map[string]worker.TaskReport{}
	for _, tr := range st.Tasks {
		states[strings.TrimSuffix(tr.Task, ".properties")] = tr
	}
	if len(states) != n+4 {
		t.Errorf("status lists %d tasks, want %d", len(states), n+4)
	}
	for name, want := range map[string]worker.State{"f000": worker.StateRunning, "crashing": worker.StateRunning,
		"bad": worker.StateBadFile, "dead-server": worker.StateFailing, "refused": worker.StateFailing} {
		if got := states[name]; got.State != want {
			t.Errorf("status of %s: %q (%+v), want %q", name, got.State, got, want)
		}
	}
	if f := states["f000"]; f.LastPass.IsZero() || f.LastError != "" {
		t.Errorf("f000: last pass %v, last error %q", f.LastPass, f.LastError)
	}
	if c := states["crashing"]; c.Restarts != 1 || !strings.Contains(c.LastError, "injected crash") {
		t.Errorf("crashing: %d restarts, last error %q", c.Restarts, c.LastError)
	}
	if d := states["dead-server"]; !strings.Contains(d.LastError, "connection refused") {
		t.Errorf("dead-server: last error %q", d.LastError)
	}
	stdout.Reset()
	Program.Run(context.Background(), []string{"-tasks", dir, "status"}, strings.NewReader(""), &stdout, &stderr)
	table := stdout.String()
	if !regexp.MustCompile(`(?m)^bad\.properties +bad file .*MAILBOX_PORT`).MatchString(table) ||
		strings.Index(table, "bad.properties") > strings.Index(table, "f000.properties") {
		t.Errorf("the status table does not list the bad file first with its problem:\n%s", table)
	}
	if t.Failed() {
		t.Log(tail(text, 6000))
	}
}

// TestTasksReload: SIGHUP to evmail -tasks: a new file's task starts, a
// removed file's task stops, an edited file's task restarts with the new
// settings, a broken edit is reported and its task keeps the old ones,
// and an untouched task is not restarted.
func TestTasksReload(t *testing.T) {
	r := newRig(t)
	dir := filepath.Join(r.Dir, "tasks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	box := func(name string) string { return filepath.Join(r.Dir, "out", name) }
	keys := func(folder, to string) map[string]string {
		return map[string]string{"MAILBOX_FOLDER": folder, "MAILBOX_DELIVER_TO": "maildir:" + box(to), "LOG_LEVEL": "INFO"}
	}
	for _, name := range []string{"keep", "remove", "edit", "break"} {
		r.taskIn(dir, name, keys(name, name))
	}
	seq := 0
	add := func(folder string) {
		seq++
		if _, err := r.imap.Append(r.World.MSUser, folder, message(seq, "to "+folder)); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"keep", "remove", "edit", "break"} {
		add(f)
	}
	log, hup := r.startTasks(dir)
	for _, f := range []string{"keep", "remove", "edit", "break"} {
		waitFor(t, f+"'s first message", func() bool { return len(maildir(t, box(f))) == 1 })
	}

	if err := os.Remove(filepath.Join(dir, "remove.properties")); err != nil {
		t.Fatal(err)
	}
	r.taskIn(dir, "edit", keys("edit", "edited"))
	broken := r.taskIn(dir, "break", map[string]string{"MAILBOX_FOLDER": "break", "MAILBOX_POLL_INTERVAL": "soon"})
	r.taskIn(dir, "new", keys("new", "new"))
	hup <- syscall.SIGHUP
	waitFor(t, "the removed task's stop", func() bool { return strings.Contains(log.String(), "task file removed") })
	waitFor(t, "the edited task's restart", func() bool {
		return linesOf(log.String(), "edit", `changed=MAILBOX_DELIVER_TO`) == 1
	})
	waitFor(t, "the broken edit's report", func() bool {
		return linesOf(log.String(), "break", `reload refused.*`+regexp.QuoteMeta(broken)+`:\d+: MAILBOX_POLL_INTERVAL`) == 1
	})
	for _, f := range []string{"keep", "remove", "edit", "break", "new"} {
		add(f)
	}
	waitFor(t, "the new task's message", func() bool { return len(maildir(t, box("new"))) == 1 })
	waitFor(t, "the edited task's message in its new Maildir", func() bool { return len(maildir(t, box("edited"))) == 1 })
	waitFor(t, "the broken task's message with its old settings", func() bool { return len(maildir(t, box("break"))) == 2 })
	waitFor(t, "the untouched task's message", func() bool { return len(maildir(t, box("keep"))) == 2 })
	if got := maildir(t, box("remove")); len(got) != 1 {
		t.Errorf("the removed task delivered after its file was removed: %v", got)
	}
	text := log.String()
	if n := linesOf(text, "keep", `evmail started`); n != 1 {
		t.Errorf("the untouched task started %d times, want once", n)
	}
	if linesOf(text, "keep", `reloaded: no change`) != 1 {
		t.Errorf("the untouched task does not say its reload changed nothing")
	}
	if t.Failed() {
		t.Log(tail(text, 6000))
	}
}
