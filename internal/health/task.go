package health

import (
	"fmt"
	"time"

	"mailtokens/internal/tokenstore"
)

// TaskState is how a task's logins stand.
type TaskState string

// The states of a task.
const (
	TaskStarting TaskState = "starting" // running, no login reported yet
	TaskOK       TaskState = "ok"       // its last login succeeded
	TaskFailing  TaskState = "failing"  // its logins fail since FailingSince
	TaskSilent   TaskState = "silent"   // no report for several poll intervals: is it running?
	TaskStopped  TaskState = "stopped"  // stopped as asked
)

// TaskReport is the judgement on one task file using a token.
type TaskReport struct {
	tokenstore.TaskUse
	State TaskState
	Level Level
	Words string // the state in a sentence
}

// heartbeat is how often a running worker reports even when it logs in to
// nothing (internal/worker), and how long the store may hold back a
// repeated report.
const heartbeat = time.Minute

// SilentAfter is how long a task may go without a report before it counts
// as silent: three poll intervals, or three heartbeats when it polls more
// often, and a minute for the store's throttled writes.
func SilentAfter(pollEvery time.Duration) time.Duration {
	return 3*max(pollEvery, heartbeat) + time.Minute
}

// stoppedFailingFor is how long a stopped task whose last login failed
// still counts as failing: a task run from cron with -once stops after
// every pass, and its last pass's failure is news until the next.
const stoppedFailingFor = 24 * time.Hour

// Task judges one task at now. Its last login decides, while it is
// running or stopped lately; a running task without reports is silent.
func Task(u tokenstore.TaskUse, now time.Time) TaskReport {
	r := TaskReport{TaskUse: u}
	stopped := !u.StoppedAt.IsZero()
	silent := !stopped && now.Sub(u.LastSeen) > SilentAfter(u.PollEvery)
	switch {
	case silent:
		r.State, r.Level = TaskSilent, Warning
		r.Words = fmt.Sprintf("silent: no report since %s (%s); is its worker running?", At(u.LastSeen, now), When(u.LastSeen, now))
	case !u.FailingSince.IsZero() && (!stopped || now.Sub(u.StoppedAt) < stoppedFailingFor):
		r.State, r.Level = TaskFailing, Problem
		r.Words = fmt.Sprintf("failing since %s: %s", At(u.FailingSince, now), u.LastReply)
		if stopped {
			r.Words += " (stopped " + At(u.StoppedAt, now) + ")"
		}
	case stopped:
		r.State, r.Level = TaskStopped, Off
		r.Words = "stopped " + At(u.StoppedAt, now)
		if u.LastOK.After(u.LastFailure) {
			r.Words += "; its last login succeeded " + At(u.LastOK, now)
		}
	case !u.LastOK.IsZero():
		r.State, r.Level = TaskOK, OK
		r.Words = "logging in · last login " + At(u.LastOK, now)
	default:
		r.State, r.Level = TaskStarting, Idle
		r.Words = "started " + At(u.StartedAt, now) + "; no login yet"
	}
	return r
}

// LoginsFailing reports whether the task's logins fail: it is failing, or
// went silent while failing (its worker died mid-trouble).
func (r TaskReport) LoginsFailing() bool {
	return r.State == TaskFailing || (r.State == TaskSilent && !r.FailingSince.IsZero())
}
