package tokenstore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"testing"
	"time"

	"mailtokens/internal/provider"
	"mailtokens/internal/sandbox/idptest"
	"mailtokens/internal/testenv/pgtest"
)

// runBenchWorker is one worker process of the benchmarks: it opens the
// store, says "ready", and for every "go" line on stdin asks once for the
// token and prints one JSON line; it ends at EOF.
func runBenchWorker() int {
	ctx := context.Background()
	s, err := Open(ctx, Options{Path: os.Getenv(workerPath), KeyFile: os.Getenv(workerKeyFile),
		HTTPClient: provider.NewHTTPClient(10 * time.Second)})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer s.Close()
	src := s.Source(os.Getenv(workerName), ActorEvmail)
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for in.Scan() {
		var r workerResult
		if a, err := src.Token(ctx); err != nil {
			r.Err = err.Error()
		} else {
			r.Token = a.Token.Reveal()
		}
		enc.Encode(r)
		out.Flush()
	}
	return 0
}

// BenchmarkHundredWorkersFresh: 100 worker processes — this test binary
// started again, each with a Store of its own, as evmail and batchmail
// are — ask at the same moment for a token with most of its hour left.
// One op is from the go signal until every worker has its access token.
// The processes start once per engine, outside the timing.
func BenchmarkHundredWorkersFresh(b *testing.B) { hundredWorkers(b, false) }

// BenchmarkHundredWorkersStale is BenchmarkHundredWorkersFresh with the
// token stale (two minutes left) before each op: one worker refreshes at
// the sandbox provider (rotation on) under the token's lease, the others
// wait for it and read the new token. Each op checks that the provider
// saw exactly one refresh.
func BenchmarkHundredWorkersStale(b *testing.B) { hundredWorkers(b, true) }

const benchWorkers = 100

func hundredWorkers(b *testing.B, stale bool) {
	for _, engine := range []string{"sqlite", "postgres"} {
		// A sub-benchmark's body runs several times (b.N grows), this
		// one once: the processes start here.
		pool := newWorkerPool(b, engine)
		b.Run(engine, func(b *testing.B) {
			for b.Loop() {
				if stale {
					b.StopTimer()
					pool.makeStale(b)
					before := len(pool.IDP.Refreshes())
					b.StartTimer()
					pool.round(b)
					b.StopTimer()
					if n := len(pool.IDP.Refreshes()) - before; n != 1 {
						b.Fatalf("the provider saw %d refreshes in one round, want 1", n)
					}
					b.StartTimer()
				} else {
					pool.round(b)
				}
			}
		})
	}
}

// workerPool is the provider, a store with the token "shared", and
// benchWorkers processes waiting for go.
type workerPool struct {
	*idptest.Sandbox
	store *Store
	procs []*workerProc
}

// newWorkerPool starts the pool on engine ("sqlite" or "postgres"); it
// stops when b ends.
func newWorkerPool(b *testing.B, engine string) *workerPool {
	b.Helper()
	ctx := context.Background()
	dir := b.TempDir()
	p := &workerPool{Sandbox: idptest.New(b, idptest.Options{RedirectURIs: []string{testRedirect}})}
	path := filepath.Join(dir, "tokens.db")
	if engine == "postgres" {
		path = pgtest.URL(b)
	}
	opt := Options{Path: path, KeyFile: filepath.Join(dir, "tokens.key"), HTTPClient: provider.NewHTTPClient(10 * time.Second)}
	var err error
	if p.store, err = Open(ctx, opt); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { p.store.Close() })
	w := &world{Sandbox: p.Sandbox, store: p.store, opt: opt}
	w.authorized(b, "shared", provider.Microsoft)
	for range benchWorkers {
		wp := startWorker(b, workerEnv+"=bench", workerPath+"="+opt.Path, workerKeyFile+"="+opt.KeyFile, workerName+"=shared")
		// Registered after the store and the provider, so run before
		// their cleanups: the workers end (EOF) first.
		b.Cleanup(func() { wp.stdin.Close(); wp.cmd.Wait() })
		p.procs = append(p.procs, wp)
	}
	for i, w := range p.procs {
		if line, err := w.out.ReadString('\n'); err != nil || line != "ready\n" {
			b.Fatalf("worker %d did not get ready: %q %v", i, line, err)
		}
	}
	// One round outside the timing, as a running worker has had: its
	// connection set up and its statements prepared.
	p.round(b)
	return p
}

// round releases every worker and waits for all their answers.
func (p *workerPool) round(b *testing.B) {
	for _, w := range p.procs {
		io.WriteString(w.stdin, "go\n")
	}
	var first string
	for i, w := range p.procs {
		line, err := w.out.ReadString('\n')
		if err != nil {
			b.Fatalf("worker %d: %v", i, err)
		}
		var r workerResult
		if err := json.Unmarshal([]byte(line), &r); err != nil || r.Err != "" {
			b.Fatalf("worker %d: %q %v", i, line, err)
		}
		if first == "" {
			first = r.Token
		} else if r.Token != first {
			b.Fatalf("worker %d got another access token than worker 0", i)
		}
	}
}

// makeStale leaves the stored access token two minutes.
func (p *workerPool) makeStale(b *testing.B) {
	if _, err := p.store.db.Exec(`UPDATE tokens SET access_expires_at = ?, access_issued_at = ? WHERE name = 'shared'`,
		time.Now().Add(2*time.Minute).UnixMilli(), time.Now().Add(-58*time.Minute).UnixMilli()); err != nil {
		b.Fatal(err)
	}
}
