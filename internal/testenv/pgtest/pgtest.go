// Package pgtest gives tests a real PostgreSQL: a server of their own
// (Debian's postgresql package: initdb and postgres, in a temporary
// directory, on a loopback port), started once per test process and
// stopped when the process ends, and a fresh database per test.
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
	srv     *server
	srvErr  error
	counter atomic.Int64
)

type server struct {
	port int
	dir  string
}

func (s *server) url(db string) string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// URL returns the URL of a new, empty database for t, dropped when t
// ends. The server starts on first use; without PostgreSQL, t is skipped
// (failed under MAILTOKENS_REQUIRE_ALL=1).
func URL(t testing.TB) string {
	t.Helper()
	bin, ok := binDir()
	if !ok {
		testenv.Missing(t, "PostgreSQL (initdb, postgres)", install)
	}
	once.Do(func() { srv, srvErr = start(bin) })
	if srvErr != nil {
		t.Fatalf("start PostgreSQL: %v", srvErr)
	}
	name := fmt.Sprintf("t_%d_%d", os.Getpid(), counter.Add(1))
	admin := open(t, srv.url("postgres"))
	defer admin.Close()
	if _, err := admin.Exec(`CREATE DATABASE ` + name); err != nil {
		t.Fatalf("create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		admin := open(t, srv.url("postgres"))
		defer admin.Close()
		if _, err := admin.Exec(`DROP DATABASE ` + name + ` WITH (FORCE)`); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	return srv.url(name)
}

// Admin is a connection to the test server's maintenance database, for
// tests that stop and start connections (the restart test).
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

// start makes a cluster in a new temporary directory and runs postgres on
// a free loopback port until this process ends. PostgreSQL refuses to run
// as root: as root it runs as the postgres user.
func start(bin string) (*server, error) {
	cleanStale()
	dir, err := os.MkdirTemp("", "mailtokens-pg-")
	if err != nil {
		return nil, err
	}
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			return nil, fmt.Errorf("running as root needs the postgres user: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		if err := os.Chown(dir, uid, gid); err != nil {
			return nil, err
		}
	}
	data := filepath.Join(dir, "data")
	initdb := exec.Command(filepath.Join(bin, "initdb"), "-D", data, "-U", "postgres", "-A", "trust", "-E", "UTF8",
		"--no-locale", "--no-sync")
	initdb.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := initdb.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	s := &server{port: port, dir: dir}
	started := make(chan error, 1)
	go func() {
		// Pdeathsig follows the thread that started the child: keep it
		// for good, so postgres stops (fast shutdown) when the test
		// process ends, however it ends.
		runtime.LockOSThread()
		cmd := exec.Command(filepath.Join(bin, "postgres"), "-D", data, "-p", strconv.Itoa(port), "-k", dir,
			"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "synchronous_commit=off",
			"-c", "full_page_writes=off", "-c", "max_connections=300", "-c", "log_min_messages=fatal")
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
		log, _ := os.Create(filepath.Join(dir, "postgres.log"))
		cmd.Stdout, cmd.Stderr = log, log
		started <- cmd.Start()
		cmd.Wait()
		select {} // the thread must outlive the child
	}()
	if err := <-started; err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		db, _ := sql.Open("pgx", s.url("postgres"))
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := db.PingContext(ctx)
		cancel()
		db.Close()
		if err == nil {
			return s, nil
		}
		if time.Now().After(deadline) {
			logText, _ := os.ReadFile(filepath.Join(dir, "postgres.log"))
			return nil, fmt.Errorf("postgres did not accept connections within 30 s: %v\n%s", err, logText)
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
