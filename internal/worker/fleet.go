package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"time"

	"mailtokens/internal/backoff"
	"mailtokens/internal/clock"
	"mailtokens/internal/cmdline"
	"mailtokens/internal/logging"
	"mailtokens/internal/taskconf"
)

// Slot is one task's place in its process: its file, what it shares with
// the process's other tasks, and its status.
type Slot struct {
	Path   string
	Shared *Shared
	Status *TaskStatus
}

// LoadTask reads and checks the task file of slot; the Run it returns
// runs the task (see [Loaded]).
type LoadTask func(slot *Slot) (Loaded, error)

// Serve runs a worker program: with -tasks DIR every task file in DIR
// (see [fleet]), otherwise the -conf file until SIGTERM under
// [Supervise], with SIGHUP reloading it. -once does one pass and has
// nothing to reload. A -conf file that does not load, or a task that
// cannot start, is reported by [StartupError].
func Serve(env *cmdline.Env, once bool, load LoadTask) error {
	if env.Tasks != "" {
		return serveDir(env, once, load)
	}
	hup := env.Hangups
	if once {
		hup = nil
	}
	sh := NewShared(0)
	slot := &Slot{Path: env.Conf, Shared: sh, Status: NewTaskStatus(filepath.Base(env.Conf))}
	if !once {
		log := logging.New(taskconf.Log{}, env.Stderr).With("task", filepath.Base(env.Conf))
		defer serveStatus(env.Program(), env.Conf, log, func() []TaskReport { return []TaskReport{slot.Status.Report()} })()
	}
	if err := Supervise(env.Ctx, func() (Loaded, error) { return load(slot) }, hup); err != nil {
		return StartupError(env, err)
	}
	return nil
}

// fleet is the tasks of one process started with -tasks DIR: every
// *.properties file in DIR (not those whose name starts with a dot, as
// editors' lock files do).
//
//   - Each task runs on its own, under [Supervise]: its own backoff,
//     state and log lines (task=support.properties). A task that ends or
//     panics is logged (with the stack) and started again after a pause
//     that grows while it keeps failing; the others never notice.
//   - A file that does not load is reported, every problem with its
//     file:line, and skipped; the rest run.
//   - SIGHUP reads the directory again: a new file's task starts, a
//     removed file's task stops as SIGTERM stops it, and every other task
//     reloads its file as [Supervise] does (unchanged: untouched; changed:
//     restarted; broken: reported, and the old settings run on).
//   - Tasks start spread over up to startSpread, and logins are bounded
//     ([Shared.Login]).
type fleet struct {
	env  *cmdline.Env
	dir  string
	load LoadTask
	sh   *Shared
	log  *slog.Logger

	mu      sync.Mutex
	members map[string]*member     // running tasks, by file name
	bad     map[string]*TaskStatus // files that did not load, by name
}

// member is one running task of a fleet.
type member struct {
	slot   *Slot
	hup    chan os.Signal
	cancel context.CancelFunc
	done   chan struct{}
}

// startSpread is the longest a fleet takes to start its tasks; each
// waits startEach after the one before, up to that.
var startSpread, startEach = 5 * time.Second, 5 * time.Millisecond

// restartBackoff is the pause before a task that ended by itself starts
// again; a task that ran for restartReset since its last start begins
// again at the shortest pause.
var (
	restartBackoff = backoff.Backoff{Min: time.Second, Max: 5 * time.Minute}
	restartReset   = 10 * time.Minute
)

func serveDir(env *cmdline.Env, once bool, load LoadTask) error {
	dir, err := filepath.Abs(env.Tasks)
	if err != nil {
		return fmt.Errorf("-tasks %s: %w", env.Tasks, err)
	}
	f := &fleet{env: env, dir: dir, load: load, sh: NewShared(0),
		log: logging.New(taskconf.Log{}, env.Stderr), members: map[string]*member{}, bad: map[string]*TaskStatus{}}
	names, err := f.scan()
	if err != nil {
		return err
	}
	if once {
		return f.once(names)
	}
	if len(names) == 0 {
		f.log.Warn("no task files to run; add *.properties files to the directory and reload", "dir", f.dir)
	}
	defer serveStatus(env.Program(), f.dir, f.log, f.reports)()
	f.start(names)
	for {
		select {
		case <-env.Ctx.Done():
			f.stopAll()
			return nil
		case <-env.Hangups:
			f.reload()
		}
	}
}

// scan lists the task files in the directory, sorted.
func (f *fleet) scan() ([]string, error) {
	entries, err := os.ReadDir(f.dir)
	if err != nil {
		return nil, fmt.Errorf("-tasks %s: %w", f.dir, err)
	}
	var names []string
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, ".") || !strings.HasSuffix(n, ".properties") || e.IsDir() {
			continue
		}
		names = append(names, n)
	}
	return names, nil
}

func (f *fleet) slot(name string) *Slot {
	return &Slot{Path: filepath.Join(f.dir, name), Shared: f.sh, Status: NewTaskStatus(name)}
}

// loaded loads a new file's task, or reports why it cannot run.
func (f *fleet) loaded(name string) (*Slot, *Loaded) {
	slot := f.slot(name)
	l, err := f.load(slot)
	if err != nil {
		f.badFile(name, slot, err)
		return nil, nil
	}
	f.mu.Lock()
	delete(f.bad, name)
	f.mu.Unlock()
	l = guarded(l)
	return slot, &l
}

// badFile reports a file that does not load: each problem on its own line.
func (f *fleet) badFile(name string, slot *Slot, err error) {
	log := f.log.With("task", name)
	var ps taskconf.Problems
	if errors.As(err, &ps) {
		for _, p := range ps {
			log.Error("task file skipped: fix it and reload", "problem", p.String())
		}
	} else {
		log.Error("task file skipped: fix it and reload", "err", err.Error())
	}
	slot.Status.set(StateBadFile, err)
	f.mu.Lock()
	f.bad[name] = slot.Status
	f.mu.Unlock()
}

// start starts the tasks of the files named, spread out.
func (f *fleet) start(names []string) {
	n := 0
	for _, name := range names {
		slot, l := f.loaded(name)
		if l == nil {
			continue
		}
		f.run(name, slot, *l, min(time.Duration(n)*startEach, startSpread))
		n++
	}
}

// run starts one task after delay, and keeps it running until its member
// is cancelled.
func (f *fleet) run(name string, slot *Slot, first Loaded, delay time.Duration) {
	ctx, cancel := context.WithCancel(f.env.Ctx)
	m := &member{slot: slot, hup: make(chan os.Signal, 1), cancel: cancel, done: make(chan struct{})}
	f.mu.Lock()
	f.members[name] = m
	f.mu.Unlock()
	next := &first
	load := func() (Loaded, error) {
		if next != nil {
			l := *next
			next = nil
			return l, nil
		}
		l, err := f.load(slot)
		if err != nil {
			return Loaded{}, err
		}
		return guarded(l), nil
	}
	go func() {
		defer close(m.done)
		if !clock.Sleep(ctx, delay) {
			return
		}
		b := restartBackoff
		for {
			started := time.Now()
			slot.Status.set(StateStarting, nil) // until its first pass says how it goes
			err := Supervise(ctx, load, m.hup)
			if ctx.Err() != nil {
				slot.Status.set(StateStopped, nil)
				return
			}
			if time.Since(started) > restartReset {
				b.Reset()
			}
			d := b.Next()
			if err == nil {
				err = errors.New("the task ended by itself")
			}
			var ps taskconf.Problems
			if errors.As(err, &ps) {
				f.badFile(name, slot, err)
			} else {
				slot.Status.set(StateRestarting, err)
				(&Task{Log: f.log.With("task", name)}).Report("the task stopped; it starts again after a pause", err, d)
			}
			if !clock.Sleep(ctx, d) {
				slot.Status.set(StateStopped, nil)
				return
			}
		}
	}()
}

// CrashError is a task's panic, recovered: the task starts again.
type CrashError struct{ Value any }

func (e *CrashError) Error() string { return fmt.Sprintf("the task crashed: %v", e.Value) }

// guarded is l whose Run recovers a panic of the task's goroutine as a
// *CrashError, logged with its stack.
func guarded(l Loaded) Loaded {
	run, log := l.Run, l.Log
	l.Run = func(ctx context.Context) (err error) {
		defer func() {
			if v := recover(); v != nil {
				log.Error("the task crashed; it starts again after a pause", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				err = &CrashError{Value: v}
			}
		}()
		return run(ctx)
	}
	return l
}

// reload reads the directory again (SIGHUP).
func (f *fleet) reload() {
	names, err := f.scan()
	if err != nil {
		f.log.Error("reload refused; the tasks keep running as they are", "err", err.Error())
		return
	}
	f.log.Info("reloading the task directory", "dir", f.dir, "files", len(names))
	f.mu.Lock()
	var gone []*member
	for name, m := range f.members {
		if !slices.Contains(names, name) {
			f.log.Info("task file removed: stopping its task", "task", name)
			m.cancel()
			gone = append(gone, m)
			delete(f.members, name)
		}
	}
	for name := range f.bad {
		if !slices.Contains(names, name) {
			delete(f.bad, name)
		}
	}
	var added []string
	for _, name := range names {
		if m := f.members[name]; m != nil {
			select {
			case m.hup <- os.Signal(nil):
			default: // a reload is pending already
			}
			continue
		}
		added = append(added, name)
	}
	f.mu.Unlock()
	for _, m := range gone {
		<-m.done
	}
	for _, name := range added {
		f.log.Info("new task file: starting its task", "task", name)
	}
	f.start(added)
}

// reports is the status of every task and bad file, by name.
func (f *fleet) reports() []TaskReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]TaskReport, 0, len(f.members)+len(f.bad))
	for _, m := range f.members {
		out = append(out, m.slot.Status.Report())
	}
	for name, st := range f.bad {
		if f.members[name] == nil { // a running task's file broken since is in its own status
			out = append(out, st.Report())
		}
	}
	slices.SortFunc(out, func(a, b TaskReport) int { return strings.Compare(a.Task, b.Task) })
	return out
}

// stopAll stops every task (SIGTERM) and waits for them.
func (f *fleet) stopAll() {
	f.mu.Lock()
	ms := make([]*member, 0, len(f.members))
	for _, m := range f.members {
		m.cancel()
		ms = append(ms, m)
	}
	f.mu.Unlock()
	for _, m := range ms {
		<-m.done
	}
}

// once runs every task once, all at the same time, and fails naming the
// tasks that failed or did not load.
func (f *fleet) once(names []string) error {
	var (
		mu     sync.Mutex
		failed []string
		wg     sync.WaitGroup
	)
	fail := func(name string) {
		mu.Lock()
		failed = append(failed, name)
		mu.Unlock()
	}
	for _, name := range names {
		slot, l := f.loaded(name)
		if l == nil {
			fail(name)
			continue
		}
		wg.Go(func() {
			err := l.Run(f.env.Ctx)
			slot.Status.set(StateStopped, nil)
			if err == nil {
				return
			}
			if !errors.Is(err, cmdline.ErrFailed) {
				(&Task{Log: l.Log}).Report("the task failed", err, 0)
			}
			fail(name)
		})
	}
	wg.Wait()
	if len(failed) == 0 {
		return nil
	}
	slices.Sort(failed)
	fmt.Fprintf(f.env.Stderr, "%s: %d of %d task(s) failed: %s\n", f.env.Title(), len(failed), len(names), strings.Join(failed, ", "))
	return cmdline.ErrFailed
}
