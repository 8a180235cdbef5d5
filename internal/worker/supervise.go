package worker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"slices"
	"strings"

	"mailtokens/internal/taskconf"
)

// Loaded is a task file read and checked, ready to run.
type Loaded struct {
	// Values are the file's keys and values as written
	// ([taskconf.File.Values]): a reload that finds the same values
	// changes nothing.
	Values map[string]string
	// Log tells the task's reloads, as the file's LOG_ keys say.
	Log *slog.Logger
	// Run runs the task until ctx ends, and then stops as SIGTERM stops
	// it: the message in hand is finished or abandoned cleanly.
	Run func(ctx context.Context) error
}

// Supervise runs the task that load returns until ctx ends, and loads the
// file again on every signal from hup (SIGHUP, systemctl reload):
//
//   - the same values: the running task is not touched ("reloaded: no
//     change");
//   - other values that load accepts: the running task is stopped as
//     SIGTERM stops it and started again with the new ones; the log names
//     the keys that changed, never their values (some are secrets);
//   - an error from load: each problem is logged with its file:line and
//     the task keeps running with the settings it has.
//
// The first load's error is returned as it is, for [StartupError]. A task
// that ends by itself ends Supervise with its error, except one started by
// a reload: the settings it replaced run again (a token name that does not
// exist, say, passes the file's checks and fails only at start-up).
func Supervise(ctx context.Context, load func() (Loaded, error), hup <-chan os.Signal) error {
	cur, err := load()
	if err != nil {
		return err
	}
	var prev *Loaded // the settings cur replaced, until cur is replaced in turn
	for {
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func(l Loaded) { done <- l.Run(runCtx) }(cur)
		next, err := watch(cur, load, hup, done)
		stop()
		switch {
		case next != nil:
			<-done
			old := cur
			prev, cur = &old, *next
		case ctx.Err() != nil || prev == nil:
			return err
		default:
			cur.Log.Error("the task stopped with the reloaded settings; running the previous ones again", "err", errText(err))
			cur, prev = *prev, nil
		}
	}
}

// watch waits for the running task to end (its error) or for a reload that
// changes its settings (the new ones).
func watch(cur Loaded, load func() (Loaded, error), hup <-chan os.Signal, done <-chan error) (*Loaded, error) {
	for {
		select {
		case err := <-done:
			return nil, err
		case <-hup:
			next, err := load()
			if err != nil {
				reloadFailed(cur.Log, err)
				continue
			}
			changed := changedKeys(cur.Values, next.Values)
			if len(changed) == 0 {
				cur.Log.Info("reloaded: no change")
				continue
			}
			cur.Log.Info("reloaded: restarting the task with the new settings", "changed", strings.Join(changed, ","))
			return &next, nil
		}
	}
}

// reloadFailed logs why a reload was refused: each of the file's
// problems on its own line, with its file:line, as at start-up.
func reloadFailed(log *slog.Logger, err error) {
	const what = "reload refused; the task keeps running with the settings it has"
	var ps taskconf.Problems
	if !errors.As(err, &ps) {
		log.Error(what, "err", err.Error())
		return
	}
	for _, p := range ps {
		log.Error(what, "problem", p.String())
	}
}

// changedKeys is the sorted keys whose values differ, or that only one
// side has.
func changedKeys(old, new map[string]string) []string {
	var out []string
	for k, v := range new {
		if ov, ok := old[k]; !ok || ov != v {
			out = append(out, k)
		}
	}
	for k := range old {
		if _, ok := new[k]; !ok {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func errText(err error) string {
	if err == nil {
		return "ended without an error"
	}
	return err.Error()
}
