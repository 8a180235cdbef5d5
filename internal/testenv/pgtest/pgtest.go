// Package pgtest gives tests a real PostgreSQL: a server of their own
// (Debian's postgresql package: initdb and postgres, in a temporary
// directory, on a loopback port), started once per test process and
// stopped when the process ends, and a fresh database per test. A test
// that stops and starts its server, or needs one elsewhere — on an
// address in a network namespace of its own, for workers on other
// "hosts" — starts one with [Start] (or [NewServer]).
//
// Store tests run against SQLite by default; with
// MAILTOKENS_TEST_ENGINE=postgres, StorePath hands them a PostgreSQL
// database instead, so the same tests cover both engines (make test runs
// the store's packages both ways).
package pgtest

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/stdlib"

	"mailtokens/internal/testenv"
	"mailtokens/internal/testenv/netns"
)

// EngineEnv selects the engine of store tests: "postgres" or unset.
const EngineEnv = "MAILTOKENS_TEST_ENGINE"

// Enabled reports whether store tests use PostgreSQL.
func Enabled() bool { return os.Getenv(EngineEnv) == "postgres" }

// StorePath is where t's token store lives: a fresh PostgreSQL database
// when Enabled, else sqlitePath.
func StorePath(t testing.TB, sqlitePath string) string {
	t.Helper()
	if !Enabled() {
		return sqlitePath
	}
	return URL(t)
}

const install = "apt-get install postgresql"

var (
	once    sync.Once
	srv     *Server
	srvErr  error
	counter atomic.Int64
)

// Options say where a server of [Start] listens.
type Options struct {
	// Listen is the address postgres listens on (listen_addresses):
	// 127.0.0.1 when empty. Clients on the networks the server is directly
	// connected to may log in without a password (pg_hba: samenet trust).
	Listen string
	// Netns, when set, is the file of the network namespace to run the
	// server in (/run/netns/NAME): Listen must be an address there.
	Netns string
}

// Server is a PostgreSQL server of the tests' own: a cluster in a
// temporary directory.
type Server struct {
	bin, dir string // dir: the cluster; also the Unix socket's directory
	port     int
	cred     *syscall.Credential
	opt      Options

	mu   sync.Mutex
	proc *os.Process   // nil while stopped
	done chan struct{} // closed when proc has exited
}

// url reaches database db over TCP at the listen address.
func (s *Server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@%s/%s?sslmode=disable", net.JoinHostPort(s.opt.Listen, strconv.Itoa(s.port)), db)
}

// socketURL reaches database db through the Unix socket: from this
// machine in any network namespace.
func (s *Server) socketURL(db string) string {
	return fmt.Sprintf("postgres://postgres@/%s?host=%s&port=%d&sslmode=disable", db, s.dir, s.port)
}

// URL returns the URL of a new, empty database for t on the server
// shared by the test process, dropped when t ends. The server starts on
// first use; without PostgreSQL, t is skipped (failed under
// MAILTOKENS_REQUIRE_ALL=1).
func URL(t testing.TB) string {
	t.Helper()
	bin := need(t)
	once.Do(func() { srv, srvErr = newServer(bin, Options{}) })
	if srvErr != nil {
		t.Fatalf("start PostgreSQL: %v", srvErr)
	}
	return srv.URL(t)
}

// Start starts a PostgreSQL server of t's own, as opt says, and stops it
// and removes its files when t ends: for tests that stop and start it
// (Stop, Start) while the others keep theirs, or that need it on another
// address. Without PostgreSQL, t is skipped (failed under
// MAILTOKENS_REQUIRE_ALL=1).
func Start(t testing.TB, opt Options) *Server {
	t.Helper()
	s, err := newServer(need(t), opt)
	if err != nil {
		t.Fatalf("start PostgreSQL: %v", err)
	}
	t.Cleanup(func() {
		s.stop()
		os.RemoveAll(s.dir)
	})
	return s
}

// NewServer is Start on loopback.
func NewServer(t testing.TB) *Server {
	t.Helper()
	return Start(t, Options{})
}

func need(t testing.TB) string {
	t.Helper()
	bin, ok := binDir()
	if !ok {
		testenv.Missing(t, "PostgreSQL (initdb, postgres)", install)
	}
	return bin
}

// Database is a database on a [Server].
type Database struct {
	// URL reaches it over TCP at the server's listen address.
	URL string
	// SocketURL reaches it through the server's Unix socket, which a
	// process on this machine reaches from any network namespace: the
	// test's own connections to a server in another namespace.
	SocketURL string
}

// URL returns the URL of a new, empty database on s for t (over TCP),
// dropped when t ends.
func (s *Server) URL(t testing.TB) string {
	t.Helper()
	return s.NewDatabase(t).URL
}

// NewDatabase creates a new, empty database for t, dropped when t ends.
func (s *Server) NewDatabase(t testing.TB) Database {
	t.Helper()
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	admin := open(t, s.socketURL("postgres"))
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		if !s.running() {
			return // a stopped server of the test's own goes with its directory
		}
		admin := open(t, s.socketURL("postgres"))
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return Database{URL: s.url(name), SocketURL: s.socketURL(name)}
}

// Stop shuts the server down as an administrator would (fast shutdown:
// sessions are ended, clients see their connections close) and returns
// once it is gone; connections are refused until Start.
func (s *Server) Stop(t testing.TB) {
	t.Helper()
	if !s.running() {
		t.Fatal("pgtest: Stop: the server is not running")
	}
	s.stop()
}

// Start starts a stopped server again, on the same port and data, and
// returns once it accepts connections.
func (s *Server) Start(t testing.TB) {
	t.Helper()
	if err := s.start(); err != nil {
		t.Fatalf("start PostgreSQL again: %v", err)
	}
}

func (s *Server) running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.proc != nil
}

// stop sends postgres SIGINT (fast shutdown), and SIGKILL if it is still
// there 30 s later, and waits for it to end.
func (s *Server) stop() {
	s.mu.Lock()
	proc, done := s.proc, s.done
	s.proc = nil
	s.mu.Unlock()
	if proc == nil {
		return
	}
	proc.Signal(syscall.SIGINT)
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		proc.Kill()
		<-done
	}
}

// open opens url; the connection is made on first use.
func open(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	return db
}

var _ = stdlib.GetDefaultDriver // registers "pgx"

// binDir finds the directory of initdb and postgres.
func binDir() (string, bool) {
	alts, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	initdb, ok := testenv.Find("initdb", alts...)
	if !ok {
		return "", false
	}
	if real, err := filepath.EvalSymlinks(initdb); err == nil {
		initdb = real
	}
	dir := filepath.Dir(initdb)
	if _, err := os.Stat(filepath.Join(dir, "postgres")); err != nil {
		return "", false
	}
	return dir, true
}

// newServer makes a cluster in a new temporary directory and runs
// postgres on a free port until Stop or until this process ends.
// PostgreSQL refuses to run as root: as root it runs as the postgres
// user.
func newServer(bin string, opt Options) (*Server, error) {
	if opt.Listen == "" {
		opt.Listen = "127.0.0.1"
	}
	cleanStale()
	dir, err := os.MkdirTemp("", "mailtokens-pg-")
	if err != nil {
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, opt: opt}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		s.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	if opt.Listen != "127.0.0.1" {
		hba, err := os.OpenFile(filepath.Join(data, "pg_hba.conf"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		_, err = hba.WriteString("host all all samenet trust\n")
		if cerr := hba.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
	}
	// A free port on this namespace's loopback; in a namespace of the
	// test's own, every port is free.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s.port = l.Addr().(*net.TCPAddr).Port
	l.Close()
	return s, s.start()
}

// start runs postgres and waits until it accepts connections.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		return nil
	}
	type result struct {
		proc *os.Process
		err  error
	}
	started := make(chan result, 1)
	done := make(chan struct{})
	go func() {
		defer close(done)
		// Pdeathsig follows the thread that started the child: keep it
		// until the child has exited, so postgres stops (fast shutdown)
		// when the test process ends, however it ends. The thread is never
		// unlocked: it may have entered a namespace, and ends with this
		// goroutine.
		runtime.LockOSThread()
		if s.opt.Netns != "" {
			if err := netns.Enter(s.opt.Netns); err != nil {
				started <- result{err: err}
				return
			}
		}
		cmd := exec.Command(filepath.Join(s.bin, "postgres"), "-D", filepath.Join(s.dir, "data"), "-p", strconv.Itoa(s.port), "-k", s.dir,
			"-c", "listen_addresses="+s.opt.Listen, "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "log_min_messages=fatal")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGINT}
		log, _ := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		cmd.Stdout, cmd.Stderr = log, log
		if err := cmd.Start(); err != nil {
			started <- result{err: err}
			return
		}
		started <- result{proc: cmd.Process}
		cmd.Wait()
		log.Close()
	}()
	r := <-started
	if r.err != nil {
		return fmt.Errorf("postgres: %w", r.err)
	}
	s.proc, s.done = r.proc, done
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, _ := sql.Open("pgx", s.socketURL("postgres"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		db.Close()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
			return fmt.Errorf("postgres did not accept connections within 30 s: %v\n%s", err, logText)
		}
		time.Sleep(50 * time.Millisecond) // polling a server that says nothing when it is ready
	}
}

// cleanStale removes the directories of servers whose test process ended.
func cleanStale() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), "mailtokens-pg-*"))
	for _, d := range dirs {
		pid, err := os.ReadFile(filepath.Join(d, "data", "postmaster.pid"))
		if err == nil {
			n, _ := strconv.Atoi(strings.SplitN(string(pid), "\n", 2)[0])
			if n > 0 && syscall.Kill(n, 0) == nil {
				continue
			}
		}
		if fi, err := os.Stat(d); err == nil && time.Since(fi.ModTime()) > time.Minute {
			os.RemoveAll(d)
		}
	}
}
