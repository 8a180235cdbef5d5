// Package worker holds what evmail and batchmail share: start-up checks of
// the task file and its token, the login settings for mailconn, and one
// clear log line per problem.
package worker

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"time"

	"mailtokens/internal/advice"
	"mailtokens/internal/cmdline"
	"mailtokens/internal/logging"
	"mailtokens/internal/mailconn"
	"mailtokens/internal/mailserver"
	"mailtokens/internal/taskconf"
	"mailtokens/internal/tokenstore"
)

// Task is a worker's start-up result: the logger, the store and the token
// source (nil for PASSWORD logins), and the login for mailconn.
type Task struct {
	Log    *slog.Logger
	Store  *tokenstore.Store // nil for PASSWORD logins
	Server mailserver.Server
	Auth   mailconn.Auth
	// TokenName is the token the task uses ("" = the default token).
	TokenName string

	actor        tokenstore.Actor
	path         string // the task file's absolute path
	slot         *Slot
	releaseStore func()
	stopBeat     context.CancelFunc // ends the heartbeat
	beatDone     chan struct{}
}

// Close records that the task stopped, and releases the store.
func (t *Task) Close() {
	if t.Store == nil {
		return
	}
	t.stopBeat()
	<-t.beatDone
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.Store.StopTask(ctx, t.TokenName, t.actor, t.path); err != nil {
		t.Log.Warn("could not record the task's stop", "err", err)
	}
	t.releaseStore()
}

// Login waits for the process's turn to connect and log in (see
// [Shared.Login]); release ends it once the login is over.
func (t *Task) Login(ctx context.Context) (release func(), err error) {
	if t == nil || t.slot == nil {
		return func() {}, nil
	}
	return t.slot.Shared.Login(ctx)
}

// Passed records the end of a pass over the mailbox or the spool, for
// the process's status: err nil is a good one.
func (t *Task) Passed(err error) {
	if t != nil && t.slot != nil {
		t.slot.Status.passed(err)
	}
}

// Note keeps a standing note on the task, shown as a warning on the
// token's page until a later Note clears it ("").
func (t *Task) Note(ctx context.Context, note string) {
	if t.Store == nil {
		return
	}
	if err := t.Store.NoteTask(context.WithoutCancel(ctx), t.TokenName, t.actor, t.path, note); err != nil {
		t.Log.Warn("could not record the task's note", "err", err)
	}
}

// heartbeatEvery is how often a running task tells the store it is alive,
// so the admin utility can tell a quiet task from a dead one.
const heartbeatEvery = time.Minute

func (t *Task) heartbeat(ctx context.Context, src *tokenstore.Source) {
	defer close(t.beatDone)
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			if err := src.Alive(ctx); err != nil && ctx.Err() == nil {
				t.Log.Warn("could not record that the task is running", "err", err)
			}
		}
	}
}

// Config is what a worker's task needs to start.
type Config struct {
	Actor tokenstore.Actor // who uses the token, for its record
	Slot  *Slot            // the task file, and what it shares with the process's other tasks
	Task  taskconf.Worker
	// PollEvery is how often the task looks for work; with the heartbeat
	// it tells how long a task may stay quiet before it counts as silent.
	PollEvery time.Duration
	Stderr    io.Writer // where the log goes
}

// TaskLog is the task's logger: as the file's LOG_ keys say, on w, each
// line naming the task file (task=support.properties).
func TaskLog(cfg taskconf.Log, path string, w io.Writer) *slog.Logger {
	return logging.New(cfg, w).With("task", filepath.Base(path))
}

// Setup checks what can be checked before connecting: the token exists
// (an unknown name stops the worker, listing the names that exist), and is
// authorized (if not, the worker keeps running and says what the admin must
// do). It records that this task file uses the token.
func Setup(ctx context.Context, c Config) (*Task, error) {
	caFile, login := c.Task.CAFile, c.Task.Login
	t := &Task{Log: TaskLog(c.Task.Log, c.Slot.Path, c.Stderr), Server: c.Task.Server, slot: c.Slot}
	if caFile != "" {
		roots, err := c.Slot.Shared.Roots(caFile)
		if err != nil {
			return nil, err
		}
		t.Server.RootCAs = roots
	}
	t.Auth = mailconn.Auth{User: login.User, Password: login.Password}
	if login.AuthType != taskconf.OAuth2 {
		return t, nil
	}
	store, release, err := c.Slot.Shared.Store(ctx, c.Task.Store)
	if err != nil {
		return nil, err
	}
	for _, w := range store.DB().Warnings() {
		t.Log.Warn(w)
	}
	t.Store, t.TokenName, t.releaseStore = store, login.TokenName, release
	tok, err := store.Get(ctx, login.TokenName)
	if err != nil {
		release()
		var nf *tokenstore.NotFoundError
		if errors.As(err, &nf) {
			return nil, fmt.Errorf("%s = %s: %w", c.Task.TokenKey, login.TokenName, err)
		}
		return nil, err
	}
	t.TokenName = tok.Name
	t.actor = c.Actor
	t.path, _ = filepath.Abs(c.Slot.Path)
	err = store.StartTask(ctx, tok.Name, tokenstore.TaskStart{Actor: c.Actor, Task: t.path,
		Server: fmt.Sprintf("%s %s", t.Server.Protocol, t.Server.Addr()), User: login.User, PollEvery: c.PollEvery})
	if err != nil {
		t.Log.Warn("could not record the task's use of the token", "err", err)
	}
	src := store.Source(tok.Name, c.Actor).ForTask(t.path)
	t.Auth.Tokens = src
	var beat context.Context
	beat, t.stopBeat = context.WithCancel(context.WithoutCancel(ctx))
	t.beatDone = make(chan struct{})
	go t.heartbeat(beat, src)
	t.Log.Info("using token", "token", tok.Name, "type", tok.Type, "user", login.User)
	if tok.Status != tokenstore.StatusValid && tok.Status != tokenstore.StatusRefreshFailing {
		na := &tokenstore.NeedsAuthorizationError{Name: tok.Name, Status: tok.Status}
		text, _ := advice.Of(na)
		t.Log.Error("the token cannot be used yet; the worker keeps trying",
			"token", tok.Name, "status", tok.Status, "err", na.Error(), "what_to_do", text)
	}
	return t, nil
}

// Report logs err as one clear line, with what to do when err's types
// say, at a level that says who must act: a warning for what passes by
// itself, an error when a person must act.
func (t *Task) Report(what string, err error, retryIn time.Duration) {
	if t.slot != nil {
		t.slot.Status.set(StateFailing, err)
	}
	args := []any{"err", err.Error()}
	text, kind := advice.Of(err)
	if text != "" {
		args = append(args, "what_to_do", text)
	}
	if retryIn > 0 {
		args = append(args, "retry_in", retryIn.Round(time.Second).String())
	}
	if kind == advice.Temporary {
		t.Log.Warn(what, args...)
		return
	}
	t.Log.Error(what, args...)
}

// Retries logs the failures a worker retries: the first in full through
// Report (with what to do), then one short warning per retry while the same
// failure repeats, so that a token waiting for an admin does not fill the
// log with the same advice.
type Retries struct {
	Report func(what string, err error, retryIn time.Duration)
	Log    *slog.Logger
	last   string
}

// Failed logs err: in full as what, or as again when it is the failure
// logged last.
func (r *Retries) Failed(what, again string, err error, retryIn time.Duration) {
	if err.Error() == r.last {
		r.Log.Warn(again, "err", err.Error(), "retry_in", retryIn.Round(time.Second).String())
		return
	}
	r.last = err.Error()
	r.Report(what, err, retryIn)
}

// Reset forgets the last failure after a success.
func (r *Retries) Reset() { r.last = "" }

// ParseOnce reads a worker's command line: -once, and the program's -conf.
func ParseOnce(env *cmdline.Env, args []string) (once bool, err error) {
	fs := flag.NewFlagSet(env.Title(), flag.ContinueOnError)
	fs.BoolVar(&once, "once", false, "do one pass, then exit (0 if all went well, 1 if not)")
	_, err = env.Parse(fs, args, 0)
	return once, err
}

// StartupError prints a start-up failure the way operators need it: the
// task file and every problem. It returns [cmdline.ErrFailed].
func StartupError(env *cmdline.Env, err error) error {
	var ps taskconf.Problems
	if errors.As(err, &ps) {
		fmt.Fprintf(env.Stderr, "%s: %s has %d problem(s); nothing was done:\n", env.Title(), env.Conf, len(ps))
		for _, p := range ps {
			fmt.Fprintf(env.Stderr, "  %s\n", p)
		}
		return cmdline.ErrFailed
	}
	return err
}
