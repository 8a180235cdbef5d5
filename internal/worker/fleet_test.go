package worker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mailtokens/internal/cmdline"
	"mailtokens/internal/sandbox/testcert"
	"mailtokens/internal/syncbuf"
)

// fleetRig runs a fake program's -tasks directory whose tasks do what
// their file's name says.
type fleetRig struct {
	dir    string
	log    *syncbuf.Buffer
	mu     sync.Mutex
	starts map[string]int
	// concurrent logins now, and the most seen
	logins, maxLogins atomic.Int32
}

func newFleetRig(t *testing.T, names ...string) *fleetRig {
	t.Helper()
	saved := restartBackoff
	restartBackoff.Min, restartBackoff.Max = 10*time.Millisecond, 40*time.Millisecond
	t.Cleanup(func() { restartBackoff = saved })
	r := &fleetRig{dir: t.TempDir(), log: &syncbuf.Buffer{}, starts: map[string]int{}}
	for _, n := range names {
		if err := os.WriteFile(filepath.Join(r.dir, n+".properties"), []byte("K = v\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return r
}

// load: "ends" ends at once with an error; "panics" panics the first
// time; "login" logs in (holding the login a moment) and runs; anything
// else runs until stopped.
func (r *fleetRig) load(slot *Slot) (Loaded, error) {
	name := strings.TrimSuffix(filepath.Base(slot.Path), ".properties")
	log := slog.New(slog.NewTextHandler(r.log, nil)).With("task", name+".properties")
	return Loaded{Values: map[string]string{"K": "v"}, Log: log, Run: func(ctx context.Context) error {
		r.mu.Lock()
		r.starts[name]++
		n := r.starts[name]
		r.mu.Unlock()
		switch {
		case name == "ends":
			return errors.New("the server said goodbye")
		case name == "panics" && n == 1:
			var tasks []string
			_ = tasks[n] // out of range: a real runtime panic
		case strings.HasPrefix(name, "login"):
			task := &Task{Log: log, slot: slot}
			release, err := task.Login(ctx)
			if err != nil {
				return err
			}
			now := r.logins.Add(1)
			for old := r.maxLogins.Load(); now > old && !r.maxLogins.CompareAndSwap(old, now); old = r.maxLogins.Load() {
			}
			time.Sleep(20 * time.Millisecond)
			r.logins.Add(-1)
			release()
			task.Passed(nil)
		}
		<-ctx.Done()
		return nil
	}}, nil
}

func (r *fleetRig) started(name string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.starts[name]
}

// run runs the fleet until the test ends.
func (r *fleetRig) run(t *testing.T) {
	prog := &cmdline.Program{Name: "fakeworker", Conf: "fake.properties", Tasks: true,
		Commands: []cmdline.Command{{Run: func(env *cmdline.Env, _ []string) error { return Serve(env, false, r.load) }}}}
	ctx, cancel := context.WithCancel(cmdline.WithHangups(context.Background(), make(chan os.Signal)))
	done := make(chan int, 1)
	go func() { done <- prog.Run(ctx, []string{"-tasks", r.dir}, strings.NewReader(""), io.Discard, r.log) }()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("exit %d\n%s", code, r.log)
		}
	})
}

func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestFleetIsolation: a task that keeps ending is started again and
// again with a pause, a task that panics is logged with its stack and
// started again, and a task beside them is started once and never
// disturbed.
func TestFleetIsolation(t *testing.T) {
	r := newFleetRig(t, "ends", "panics", "steady")
	r.run(t)
	waitUntil(t, "four starts of the task that ends", func() bool { return r.started("ends") >= 4 })
	waitUntil(t, "the second start of the task that panicked", func() bool { return r.started("panics") == 2 })
	if n := r.started("steady"); n != 1 {
		t.Fatalf("the steady task started %d times, want once", n)
	}
	log := r.log.String()
	for _, want := range []string{
		`task=ends.properties err="the server said goodbye" retry_in=`,
		`msg="the task crashed; it starts again after a pause" task=panics.properties panic="runtime error: index out of range [1] with length 0" stack="goroutine`,
	} {
		if !strings.Contains(log, want) {
			t.Errorf("the log lacks %s:\n%s", want, log)
		}
	}
}

// TestFleetBoundsLogins: 60 tasks starting together log in at most
// DefaultLogins at a time, and all of them get in.
func TestFleetBoundsLogins(t *testing.T) {
	var names []string
	for i := range 60 {
		names = append(names, fmt.Sprintf("login%02d", i))
	}
	saved := startEach
	startEach = 0 // all at once
	t.Cleanup(func() { startEach = saved })
	r := newFleetRig(t, names...)
	r.run(t)
	waitUntil(t, "every login", func() bool {
		for _, n := range names {
			if r.started(n) != 1 {
				return false
			}
		}
		return r.logins.Load() == 0
	})
	if m := r.maxLogins.Load(); m > DefaultLogins || m < DefaultLogins/2 {
		t.Fatalf("at most %d logins at a time, want %d..%d", m, DefaultLogins/2, DefaultLogins)
	}
}

// TestSharedRoots: the tasks of a process read each CA file once and
// share its pool; a file that cannot be read is not remembered, so a
// task started after it is fixed reads it.
func TestSharedRoots(t *testing.T) {
	cert, err := testcert.New()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	ca, _, _, err := cert.WriteFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	sh := NewShared(0)
	a, err := sh.Roots(ca)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := sh.Roots(ca); b != a {
		t.Fatal("the same CA file gave two pools")
	}
	later := filepath.Join(dir, "later.pem")
	if _, err := sh.Roots(later); err == nil {
		t.Fatal("a missing CA file gave a pool")
	}
	data, _ := os.ReadFile(ca)
	os.WriteFile(later, data, 0o600)
	if p, err := sh.Roots(later); err != nil || p == nil {
		t.Fatalf("the CA file, once there, is still refused: %v", err)
	}
}
