package worker

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"testing/synctest"

	"mailtokens/internal/syncbuf"
	"mailtokens/internal/taskconf"
)

// fakeTask is a task file whose content a test edits, and the runs of it.
type fakeTask struct {
	mu       sync.Mutex
	values   map[string]string
	err      error            // what loading the file gives now
	startErr map[string]error // a run with this MAIL_RATE fails at once
	log      *syncbuf.Buffer
	running  map[string]int // runs under way, by MAIL_RATE
	starts   []string       // MAIL_RATE of each run, in order
}

func newFakeTask(values map[string]string) *fakeTask {
	return &fakeTask{values: values, log: &syncbuf.Buffer{}, running: map[string]int{}, startErr: map[string]error{}}
}

func (f *fakeTask) edit(values map[string]string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.values, f.err = values, err
}

func (f *fakeTask) load() (Loaded, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return Loaded{}, f.err
	}
	values := map[string]string{}
	for k, v := range f.values {
		values[k] = v
	}
	rate := values["MAIL_RATE"]
	return Loaded{Values: values, Log: slog.New(slog.NewTextHandler(f.log, nil)), Run: func(ctx context.Context) error {
		f.mu.Lock()
		f.starts = append(f.starts, rate)
		err := f.startErr[rate]
		if err == nil {
			f.running[rate]++
		}
		f.mu.Unlock()
		if err != nil {
			return err
		}
		<-ctx.Done()
		f.mu.Lock()
		f.running[rate]--
		f.mu.Unlock()
		return nil
	}}, nil
}

func (f *fakeTask) state() (starts string, running map[string]int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r := map[string]int{}
	for k, v := range f.running {
		if v != 0 {
			r[k] = v
		}
	}
	return strings.Join(f.starts, " "), r
}

// TestSupervise: a reload with the same values touches nothing; new
// values stop the running task before the new one starts, and the log
// names the changed keys without their values; a file with problems logs
// each with its file:line and keeps the task running; a reloaded task
// that fails at start brings the previous settings back.
func TestSupervise(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newFakeTask(map[string]string{"MAIL_RATE": "10", "MAIL_PASSWORD": "old-secret", "# layout": ""})
		hup := make(chan os.Signal)
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- Supervise(ctx, f.load, hup) }()
		synctest.Wait()
		expect := func(when, wantStarts string, wantRunning string) {
			t.Helper()
			synctest.Wait()
			starts, running := f.state()
			if starts != wantStarts || len(running) != 1 || running[wantRunning] != 1 {
				t.Fatalf("%s: starts %q, running %v; want starts %q, one run of %s\n%s", when, starts, running, wantStarts, wantRunning, f.log)
			}
		}
		expect("start", "10", "10")

		// Unchanged.
		hup <- syscall.SIGHUP
		expect("unchanged", "10", "10")
		if !strings.Contains(f.log.String(), "reloaded: no change") {
			t.Fatalf("no 'no change' line:\n%s", f.log)
		}

		// Changed: a rate and a secret.
		f.edit(map[string]string{"MAIL_RATE": "20", "MAIL_PASSWORD": "new-secret", "# layout": ""}, nil)
		hup <- syscall.SIGHUP
		expect("changed", "10 20", "20")
		if !strings.Contains(f.log.String(), "changed=MAIL_PASSWORD,MAIL_RATE") {
			t.Fatalf("the changed keys are not named:\n%s", f.log)
		}
		if strings.Contains(f.log.String(), "secret") {
			t.Fatalf("a value is in the log:\n%s", f.log)
		}

		// Broken.
		f.edit(nil, taskconf.Problems{{File: "task.properties", Line: 3, Key: "MAIL_RATE", Message: "not a number"},
			{File: "task.properties", Line: 7, Key: "MAIL_HOST", Message: "missing"}})
		hup <- syscall.SIGHUP
		expect("broken", "10 20", "20")
		for _, p := range []string{"task.properties:3: MAIL_RATE: not a number", "task.properties:7: MAIL_HOST: missing"} {
			if !strings.Contains(f.log.String(), p) {
				t.Fatalf("problem %q not logged:\n%s", p, f.log)
			}
		}

		// Valid, but the task cannot start with it: back to rate 20.
		f.mu.Lock()
		f.startErr["30"] = errors.New("no token named nosuch")
		f.mu.Unlock()
		f.edit(map[string]string{"MAIL_RATE": "30"}, nil)
		hup <- syscall.SIGHUP
		expect("failing new settings", "10 20 30 20", "20")
		if !strings.Contains(f.log.String(), "no token named nosuch") {
			t.Fatalf("the failure is not logged:\n%s", f.log)
		}

		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if _, running := f.state(); len(running) != 0 {
			t.Fatalf("still running: %v", running)
		}
	})
}

// TestSuperviseFirstLoad: a file that does not load at start-up is the
// caller's to report; nothing runs.
func TestSuperviseFirstLoad(t *testing.T) {
	bad := taskconf.Problems{{File: "t.properties", Line: 1, Message: "bad"}}
	f := newFakeTask(nil)
	f.edit(nil, bad)
	if err := Supervise(t.Context(), f.load, nil); !errors.Is(err, bad) && err.Error() != bad.Error() {
		t.Fatalf("got %v", err)
	}
	if starts, _ := f.state(); starts != "" {
		t.Fatalf("ran: %q", starts)
	}
}
