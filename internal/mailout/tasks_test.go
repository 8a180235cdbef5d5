package mailout

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailtokens/internal/cmdline"
)

// tasksDir writes n task files (spool i for task i) into a new directory.
func tasksDir(t *testing.T, r *rig, n int) (dir string, spools []string) {
	t.Helper()
	dir = filepath.Join(t.TempDir(), "tasks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	for i := range n {
		spool := filepath.Join(t.TempDir(), fmt.Sprintf("outbox%d", i))
		conf := r.conf(t, spool, "MAIL_POLL_INTERVAL = 100ms\n")
		if err := os.Rename(conf, filepath.Join(dir, fmt.Sprintf("spool%d.properties", i))); err != nil {
			t.Fatal(err)
		}
		spools = append(spools, spool)
	}
	return dir, spools
}

// TestTasksDirectory: one batchmail -tasks DIR sends the spools of every
// task file in DIR, each message once, while a file that does not load
// is reported and skipped.
func TestTasksDirectory(t *testing.T) {
	r := newRig(t, rigOptions{})
	dir, spools := tasksDir(t, r, 5)
	if err := os.WriteFile(filepath.Join(dir, "bad.properties"), []byte("MAIL_PORT = many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for i, s := range spools {
		queueTo(t, r, s, i*10, i*10+4)
	}
	log := &logBuffer{}
	ctx, cancel := context.WithCancel(cmdline.WithHangups(context.Background(), make(chan os.Signal)))
	done := make(chan int, 1)
	go func() { done <- Program.Run(ctx, []string{"-tasks", dir}, strings.NewReader(""), &logBuffer{}, log) }()
	receivedOnce(t, r, 20)
	for i, s := range spools {
		queueTo(t, r, s, i*10+4, i*10+6)
	}
	receivedOnce(t, r, 30)
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("batchmail -tasks exited %d after a SIGTERM-like stop\n%s", code, log.String())
	}
	if !regexp.MustCompile(`task file skipped.* task=bad.properties problem=.*bad.properties:1: MAIL_PORT`).MatchString(log.String()) {
		t.Fatalf("the bad file is not reported with file:line:\n%s", log.String())
	}
	if n := strings.Count(log.String(), "msg=sending"); n != 5 {
		t.Fatalf("%d tasks started, want 5:\n%s", n, log.String())
	}
}

// TestTasksOnce: batchmail -tasks DIR -once sends every spool once and
// exits 0; with a file that does not load and a task whose server is
// gone, the others still send, and it exits 1 naming those two.
func TestTasksOnce(t *testing.T) {
	r := newRig(t, rigOptions{})
	dir, spools := tasksDir(t, r, 3)
	for i, s := range spools {
		queueTo(t, r, s, i*10, i*10+2)
	}
	var stderr logBuffer
	if code := Program.Run(context.Background(), []string{"-tasks", dir, "-once"}, strings.NewReader(""), &logBuffer{}, &stderr); code != 0 {
		t.Fatalf("exit %d, want 0\n%s", code, stderr.String())
	}
	receivedOnce(t, r, 6)

	if err := os.WriteFile(filepath.Join(dir, "bad.properties"), []byte("MAIL_PORT = many\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	goneSpool := filepath.Join(t.TempDir(), "gone")
	gone := taskFile(t, "127.0.0.1:1", r.CAFile, r.StorePath, r.KeyFile, r.World.MSUser, goneSpool, "")
	if err := os.Rename(gone, filepath.Join(dir, "gone.properties")); err != nil {
		t.Fatal(err)
	}
	queueTo(t, r, goneSpool, 100, 101)
	for i, s := range spools {
		queueTo(t, r, s, i*10+2, i*10+3)
	}
	stderr = logBuffer{}
	if code := Program.Run(context.Background(), []string{"-tasks", dir, "-once"}, strings.NewReader(""), &logBuffer{}, &stderr); code != 1 {
		t.Fatalf("exit %d, want 1\n%s", code, stderr.String())
	}
	receivedOnce(t, r, 9)
	if !strings.Contains(stderr.String(), "batchmail: 2 of 5 task(s) failed: bad.properties, gone.properties") {
		t.Fatalf("the failed tasks are not named:\n%s", stderr.String())
	}
}
