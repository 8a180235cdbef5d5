package tokenstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"
	"time"

	"mailtokens/internal/provider"
)

// The multi-process test re-executes this test binary as worker processes.
// In that mode TestMain runs the worker instead of the tests.
const (
	workerEnv     = "TOKENSTORE_TEST_WORKER"
	workerPath    = "TOKENSTORE_TEST_PATH"
	workerKeyFile = "TOKENSTORE_TEST_KEYFILE"
	workerName    = "TOKENSTORE_TEST_NAME"
	workerCallers = "TOKENSTORE_TEST_CALLERS"
)

func TestMain(m *testing.M) {
	switch os.Getenv(workerEnv) {
	case "1":
		os.Exit(runWorker())
	case "bench":
		os.Exit(runBenchWorker())
	}
	os.Exit(m.Run())
}

type workerResult struct {
	Token string `json:"token,omitempty"`
	Err   string `json:"err,omitempty"`
}

// runWorker opens the store, starts its callers, says "ready", waits for
// "go" on stdin, lets every caller ask for the token at once, and prints one
// JSON line per caller.
func runWorker() int {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: os.Getenv(workerPath), KeyFile: os.Getenv(workerKeyFile),
		HTTPClient: provider.NewHTTPClient(10 * time.Second)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	n, _ := strconv.Atoi(os.Getenv(workerCallers))
	start := make(chan struct{})
	out := make(chan workerResult, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			a, err := s.Source(os.Getenv(workerName), ActorEvmail).Token(ctx)
			if err != nil {
				out <- workerResult{Err: err.Error()}
				return
			}
			out <- workerResult{Token: a.Token.Reveal()}
		})
	}
	fmt.Println("ready")
	if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
		fmt.Fprintln(os.Stderr, "no go signal:", err)
		return 1
	}
	close(start)
	wg.Wait()
	close(out)
	enc := json.NewEncoder(os.Stdout)
	for r := range out {
		enc.Encode(r)
	}
	return 0
}

// TestRefreshAcrossProcesses: 4 OS processes × 25 goroutines ask for the
// same stale token at the same moment. The provider (rotation on) sees one
// refresh, every caller gets the new access token, and the store holds the
// rotated refresh token.
func TestRefreshAcrossProcesses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts processes")
	}
	const processes, callers = 4, 25
	ctx := context.Background()
	w := newWorldAt(t, time.Now())
	old := w.authorized(t, "shared", provider.Microsoft)
	// The workers use the real clock: make the token stale for them.
	if _, err := w.store.db.Exec(`UPDATE tokens SET access_expires_at = ?, access_issued_at = ? WHERE name = 'shared'`,
		time.Now().Add(2*time.Minute).UnixMilli(), time.Now().Add(-58*time.Minute).UnixMilli()); err != nil {
		t.Fatal(err)
	}

	var procs []*workerProc
	for range processes {
		p := startWorker(t, workerEnv+"=1", workerPath+"="+w.opt.Path, workerKeyFile+"="+w.opt.KeyFile,
			workerName+"=shared", workerCallers+"="+strconv.Itoa(callers))
		t.Cleanup(func() { p.cmd.Process.Kill(); p.cmd.Wait() })
		procs = append(procs, p)
	}
	for i, p := range procs {
		line, err := p.out.ReadString('\n')
		if err != nil || line != "ready\n" {
			t.Fatalf("worker %d did not get ready: %q %v", i, line, err)
		}
	}
	// Every worker is waiting; release them together.
	for _, p := range procs {
		io.WriteString(p.stdin, "go\n")
	}
	tokens := map[string]int{}
	for i, p := range procs {
		for {
			line, err := p.out.ReadString('\n')
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			var r workerResult
			if err := json.Unmarshal([]byte(line), &r); err != nil {
				t.Fatalf("worker %d: %q", i, line)
			}
			if r.Err != "" {
				t.Fatalf("worker %d caller failed: %s", i, r.Err)
			}
			tokens[r.Token]++
		}
		if err := p.cmd.Wait(); err != nil {
			t.Fatalf("worker %d: %v", i, err)
		}
	}

	refs := w.IDP.Refreshes()
	if len(refs) != 1 {
		t.Fatalf("the provider saw %d refreshes, want exactly 1", len(refs))
	}
	if refs[0].RefreshToken != old.RefreshToken.Reveal() || refs[0].Outcome != "ok" {
		t.Fatalf("refresh = %+v", refs[0])
	}
	if len(tokens) != 1 {
		t.Fatalf("callers got %d different access tokens, want 1", len(tokens))
	}
	got, err := w.store.Get(ctx, "shared")
	if err != nil {
		t.Fatal(err)
	}
	if n := tokens[got.AccessToken.Reveal()]; n != processes*callers {
		t.Fatalf("%d of %d callers got the stored access token", n, processes*callers)
	}
	if got.RefreshToken.Equal(old.RefreshToken) {
		t.Fatal("the store does not hold the rotated refresh token")
	}
	// The stored refresh token is the live one: it refreshes.
	if _, err := w.store.Source("shared", ActorCLI).Refresh(ctx); err != nil {
		t.Fatalf("refresh with the stored refresh token: %v", err)
	}
	if refs := w.IDP.Refreshes(); refs[1].RefreshToken != got.RefreshToken.Reveal() || refs[1].Outcome != "ok" {
		t.Fatalf("second refresh = %+v", refs[1])
	}
}

// workerProc is this test binary run as a worker process (workerEnv): it
// reads commands on stdin and answers on stdout.
type workerProc struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   *bufio.Reader
}

// startWorker starts a worker process with env added to this one's.
func startWorker(tb testing.TB, env ...string) *workerProc {
	tb.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		tb.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		tb.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	return &workerProc{cmd, stdin, bufio.NewReader(stdout)}
}
