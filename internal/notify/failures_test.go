package notify_test

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailtokens/internal/database"
	"mailtokens/internal/notify"
	"mailtokens/internal/tokenstore"
)

// A channel that fails is listed with its error and retried with backoff;
// the others are not sent the message twice; once it delivers it drops off
// the list.
func TestNotifyFailureRetriedAndListed(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	r.hook.setStatus(http.StatusBadGateway)
	r.breakSupport(t)
	r.check(t)
	if got := r.counts(t); got != [3]int{1, 1, 0} {
		t.Fatalf("email, command, webhook got %v", got)
	}
	fs, err := notify.Failures(ctx, r.Store.DB())
	if err != nil {
		t.Fatal(err)
	}
	if len(fs) != 1 || fs[0].Channel != "webhook" || !strings.Contains(fs[0].Error, "502 Bad Gateway: hook is down") ||
		!fs[0].Since.Equal(r.Clock.Now()) || strings.Contains(fs[0].Error, "secret-part") {
		t.Fatalf("failures: %+v", fs)
	}

	r.check(t) // not due yet
	r.Clock.Advance(time.Minute)
	r.check(t) // due; fails again
	if fs, _ := notify.Failures(ctx, r.Store.DB()); len(fs) != 1 || fs[0].Failures != 2 {
		t.Fatalf("after a retry: %+v", fs)
	}
	r.hook.setStatus(http.StatusOK)
	r.Clock.Advance(time.Minute)
	r.check(t) // the second retry waits two minutes
	if got := r.counts(t); got != [3]int{1, 1, 0} {
		t.Fatalf("before the backoff passed: %v", got)
	}
	r.Clock.Advance(time.Minute)
	r.check(t)
	wantCounts(t, r, 1, "webhook back")
	if e := r.hook.events()[0]; e.Event != notify.EventProblem || e.Token != "support" {
		t.Fatalf("webhook got %+v", e)
	}
	if fs, _ := notify.Failures(ctx, r.Store.DB()); len(fs) != 0 {
		t.Fatalf("failures after delivery: %+v", fs)
	}
}

// A task's logins failing is told only after the grace period; a problem
// that clears and comes back before "solved" was due sends nothing more.
func TestNotifyMailFailingGraceAndFlap(t *testing.T) {
	r := newRig(t)
	ctx := context.Background()
	if err := r.Store.StartTask(ctx, "support", tokenstore.TaskStart{Actor: tokenstore.ActorEvmail, Task: "/etc/mailtokens/evmail/support.properties"}); err != nil {
		t.Fatal(err)
	}
	// What the workers record about their logins (Source.LoggedIn), written
	// directly so that a failure can start in the past.
	fail := func(since time.Time) {
		t.Helper()
		_, err := r.Store.DB().ExecContext(ctx, `UPDATE token_tasks SET server = 'IMAP imap.gmail.example:993', mail_user = 'wrong@gmail.example',
			failing_since = ?, last_fail_at = ?, failures = failures + 1, last_reply = 'NO [AUTHENTICATIONFAILED] Invalid credentials (Failure)'`,
			database.Millis(since), database.Millis(r.Clock.Now()))
		if err != nil {
			t.Fatal(err)
		}
	}
	ok := func() {
		t.Helper()
		if _, err := r.Store.DB().ExecContext(ctx, `UPDATE token_tasks SET failing_since = 0, last_ok_at = ?`, database.Millis(r.Clock.Now())); err != nil {
			t.Fatal(err)
		}
	}
	fail(r.Clock.Now())
	r.Clock.Advance(notify.DefaultMailGrace - time.Minute)
	r.check(t)
	wantCounts(t, r, 0, "within the grace period")
	r.Clock.Advance(time.Minute)
	r.check(t)
	wantCounts(t, r, 1, "grace period over")
	e := r.hook.events()[0]
	if e.Problem != notify.MailFailing || !strings.Contains(e.Summary, "refused by IMAP imap.gmail.example:993 for wrong@gmail.example") ||
		!strings.Contains(e.Detail, "AUTHENTICATIONFAILED") || !strings.Contains(e.Detail, "support.properties") {
		t.Fatalf("mail failing: %+v", e)
	}

	// One good login, then failing again a few minutes later: no "solved",
	// no second "problem".
	ok()
	r.check(t)
	r.Clock.Advance(notify.DefaultSolvedAfter / 2)
	fail(r.Clock.Now().Add(-notify.DefaultMailGrace))
	r.check(t)
	r.Clock.Advance(notify.DefaultSolvedAfter)
	r.check(t)
	wantCounts(t, r, 1, "flapping")

	// Solved for good, then back within the day: "solved" once, and the
	// relapse waits for the day to end since the last "problem".
	ok()
	r.check(t)
	r.Clock.Advance(notify.DefaultSolvedAfter)
	r.check(t)
	wantCounts(t, r, 2, "solved")
	fail(r.Clock.Now().Add(-notify.DefaultMailGrace))
	r.check(t)
	wantCounts(t, r, 2, "back within the day")
	r.Clock.Advance(24 * time.Hour)
	r.check(t)
	wantCounts(t, r, 3, "back, a day later")
	if e := r.hook.events()[2]; e.Event != notify.EventProblem || e.Problem != notify.MailFailing {
		t.Fatalf("relapse: %+v", e)
	}
}
