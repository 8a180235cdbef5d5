package tokenstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"mailtokens/internal/clock"
)

func TestTasks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	inbox := TaskStart{Actor: ActorEvmail, Task: "/etc/mailtokens/support.properties", Server: "IMAP imap.example:993",
		User: "support@example.com", PollEvery: time.Minute}
	if err := s.StartTask(ctx, "support", inbox); err != nil {
		t.Fatal(err)
	}
	s.StartTask(ctx, "support", inbox)
	s.StartTask(ctx, "support", TaskStart{Actor: ActorBatchmail, Task: "/etc/mailtokens/notify.properties"})
	tasks, err := s.Tasks(ctx, "support")
	if err != nil || len(tasks) != 2 {
		t.Fatalf("tasks: %+v %v", tasks, err)
	}
	if err := s.StartTask(ctx, "nope", inbox); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown token: %v", err)
	}
	// Deleting the token forgets its tasks.
	s.Delete(ctx, "support", ActorCLI)
	var n int
	s.db.QueryRow(`SELECT COUNT(*) FROM token_tasks`).Scan(&n)
	if n != 0 {
		t.Fatalf("%d task rows left after delete", n)
	}
}

// A task file that now names another token drops off its old token's list
// when its worker starts again.
func TestTaskPointingElsewhereDropsOff(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	for _, name := range []string{"old", "new"} {
		if _, err := s.Create(ctx, msSettings(name), ActorCLI); err != nil {
			t.Fatal(err)
		}
	}
	task := TaskStart{Actor: ActorEvmail, Task: "/etc/mailtokens/inbox.properties"}
	s.StartTask(ctx, "old", task)
	s.StartTask(ctx, "old", TaskStart{Actor: ActorBatchmail, Task: "/etc/mailtokens/send.properties"})
	if err := s.StartTask(ctx, "new", task); err != nil {
		t.Fatal(err)
	}
	old, _ := s.Tasks(ctx, "old")
	if len(old) != 1 || old[0].Task != "/etc/mailtokens/send.properties" {
		t.Fatalf("old token's tasks: %+v", old)
	}
	if got, _ := s.Tasks(ctx, "new"); len(got) != 1 || got[0].Task != task.Task {
		t.Fatalf("new token's tasks: %+v", got)
	}
}

// Each login's outcome reaches the task's row: failures at once with the
// server's reply and counted, successes end the failing run; repeats of
// the same outcome are written at most once a minute.
func TestTaskLogins(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	s := openTest(t, Options{Now: fake.Now})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	const path = "/etc/mailtokens/support.properties"
	s.StartTask(ctx, "support", TaskStart{Actor: ActorEvmail, Task: path, Server: "IMAP imap.example:993", User: "support@example.com"})
	src := s.Source("support", ActorEvmail).ForTask(path)
	task := func() TaskUse {
		t.Helper()
		tasks, err := s.Tasks(ctx, "support")
		if err != nil || len(tasks) != 1 {
			t.Fatalf("tasks: %+v %v", tasks, err)
		}
		return tasks[0]
	}
	refused := Login{Server: "IMAP imap.example:993", User: "support@example.com", Failed: true, Reply: "NO AUTHENTICATE failed."}
	start := fake.Now().Truncate(time.Millisecond)
	if err := src.LoggedIn(ctx, refused); err != nil {
		t.Fatal(err)
	}
	if u := task(); u.LastReply != refused.Reply || !u.FailingSince.Equal(start) || u.Failures != 1 || !u.LastOK.IsZero() {
		t.Fatalf("after a refusal: %+v", u)
	}
	fake.Advance(10 * time.Second)
	src.LoggedIn(ctx, refused) // same outcome, same reply: not written yet
	if u := task(); u.Failures != 1 || !u.LastFailure.Equal(start) {
		t.Fatalf("a repeated refusal was written at once: %+v", u)
	}
	fake.Advance(10 * time.Second)
	other := refused
	other.Reply = "BYE server shutting down"
	src.LoggedIn(ctx, other) // a new reply is news
	if u := task(); u.LastReply != other.Reply || u.Failures != 3 || !u.FailingSince.Equal(start) {
		t.Fatalf("after another reply: %+v", u)
	}
	fake.Advance(10 * time.Second)
	src.LoggedIn(ctx, Login{Server: refused.Server, User: refused.User})
	if u := task(); !u.FailingSince.IsZero() || !u.LastOK.Equal(fake.Now().Truncate(time.Millisecond)) || u.Failures != 3 {
		t.Fatalf("after a success: %+v", u)
	}
	// The test button's source has no task: its logins touch no task row.
	s.Source("support", ActorAdmin).LoggedIn(ctx, refused)
	if u := task(); !u.FailingSince.IsZero() {
		t.Fatalf("an admin's test login changed the task: %+v", u)
	}
	// A clean stop is recorded.
	if err := s.StopTask(ctx, "support", ActorEvmail, path); err != nil || task().StoppedAt.IsZero() {
		t.Fatalf("stop: %v %+v", err, task())
	}
}

// A task not heard of for forgetTasksAfter is forgotten when any task
// starts.
func TestRetiredTasksAreForgotten(t *testing.T) {
	ctx := context.Background()
	fake := clock.NewFake(time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC))
	s := openTest(t, Options{Now: fake.Now})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	s.StartTask(ctx, "support", TaskStart{Actor: ActorEvmail, Task: "/etc/mailtokens/retired.properties"})
	fake.Advance(forgetTasksAfter + time.Minute)
	s.StartTask(ctx, "support", TaskStart{Actor: ActorEvmail, Task: "/etc/mailtokens/new.properties"})
	if tasks, _ := s.Tasks(ctx, "support"); len(tasks) != 1 || tasks[0].Task != "/etc/mailtokens/new.properties" {
		t.Fatalf("tasks: %+v", tasks)
	}
}
