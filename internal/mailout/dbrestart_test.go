package mailout

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/testenv/pgtest"
)

// TestDatabaseRestartWhileSending: PostgreSQL goes away while batchmail
// runs and mail is queued meanwhile. batchmail says so as a warning (it
// passes by itself), backs off, carries on once the database is back, and
// every queued message is sent exactly once.
func TestDatabaseRestartWhileSending(t *testing.T) {
	srv := pgtest.NewServer(t)
	r := newRig(t, rigOptions{store: srv.URL(t)})
	spoolDir := filepath.Join(t.TempDir(), "outbox")
	conf := r.conf(t, spoolDir, "MAIL_POLL_INTERVAL = 1s\n")
	spool, err := OpenSpool(spoolDir)
	if err != nil {
		t.Fatal(err)
	}
	const before, during = 10, 5
	for i := 1; i <= before; i++ {
		queue(t, spool, fmt.Sprintf("m%02d", i), testMessage(r.World.MSUser, "a@example.net", fmt.Sprintf("before %d", i), "x"))
	}
	log := &logBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- Program.Run(ctx, []string{"-conf", conf}, strings.NewReader(""), &logBuffer{}, log) }()
	defer func() {
		cancel()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Error("batchmail did not stop")
		}
	}()
	wait, stop := context.WithTimeout(context.Background(), testTimeout)
	defer stop()
	if _, err := r.smtp.WaitReceived(wait, before); err != nil {
		t.Fatalf("before the outage: %v", err)
	}

	srv.Stop(t)
	for i := 1; i <= during; i++ {
		queue(t, spool, fmt.Sprintf("n%02d", i), testMessage(r.World.MSUser, "a@example.net", fmt.Sprintf("during %d", i), "x"))
	}
	for !strings.Contains(log.String(), "the database is unavailable") {
		if wait.Err() != nil {
			t.Fatalf("no failure logged while the database is down:\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
	srv.Start(t)
	if _, err := r.smtp.WaitReceived(wait, before+during); err != nil {
		t.Fatalf("after the outage: %v\n%s", err, log)
	}
	time.Sleep(2 * time.Second) // more passes: nothing goes twice

	subjects := map[string]int{}
	for _, m := range r.smtp.Received() {
		s := string(m.Raw)
		s = s[strings.Index(s, "Subject: "):]
		subjects[s[:strings.Index(s, "\r\n")]]++
	}
	if len(subjects) != before+during || len(r.smtp.Received()) != before+during {
		t.Errorf("%d messages received, %d distinct; want %d: %v", len(r.smtp.Received()), len(subjects), before+during, subjects)
	}
	if left := files(t, spool, DirNew); len(left) != 0 {
		t.Errorf("left in the queue: %v", left)
	}
	for _, line := range strings.Split(log.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			t.Errorf("the outage was logged as an error:\n%s", line)
		}
	}
}
