package tokenstore

import (
	"context"
	"errors"
	"testing"
)

func TestTasks(t *testing.T) {
	ctx := context.Background()
	s := openTest(t, Options{})
	if _, err := s.Create(ctx, msSettings("support"), ActorCLI); err != nil {
		t.Fatal(err)
	}
	if err := s.RecordTask(ctx, "support", ActorEvmail, "/etc/mailtokens/support.properties"); err != nil {
		t.Fatal(err)
	}
	s.RecordTask(ctx, "support", ActorEvmail, "/etc/mailtokens/support.properties")
	s.RecordTask(ctx, "support", ActorBatchmail, "/etc/mailtokens/notify.properties")
	tasks, err := s.Tasks(ctx, "support")
	if err != nil || len(tasks) != 2 {
		t.Fatalf("tasks: %+v %v", tasks, err)
	}
	if err := s.RecordTask(ctx, "nope", ActorEvmail, "x"); !errors.Is(err, ErrNotFound) {
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
