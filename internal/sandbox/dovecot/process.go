package dovecot

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Bounds on waiting for the external programs. They are generous because
// the machines running the tests (and the demo) are small and shared; every
// wait also ends as soon as the process dies.
const (
	startTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
	pollInterval = 10 * time.Millisecond
	// startAttempts bounds the retries after another process took one of the
	// ports picked for us between the pick and the program's bind.
	startAttempts = 5
)

// makeInstanceDir makes a fresh directory for one instance; its owner
// removes it after stopping the instance. t.TempDir is no good here: it
// sits under a 0700 directory that Dovecot's unprivileged processes
// (dovecot, dovenull, the mail uid) and smtp-sink's nobody cannot enter.
func makeInstanceDir(prefix string) (string, error) {
	root := os.TempDir()
	if !searchableByAll(root) {
		root = "/tmp"
	}
	dir, err := os.MkdirTemp(root, prefix)
	if err != nil {
		return "", fmt.Errorf("create instance directory: %w", err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("create instance directory: %w", err)
	}
	return dir, nil
}

// searchableByAll reports whether every user may pass through dir and each
// of its parents.
func searchableByAll(dir string) bool {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return false
	}
	for {
		fi, err := os.Stat(dir)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return false
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return true
		}
		dir = parent
	}
}

// account is a system user the programs switch to.
type account struct {
	name     string
	uid, gid int
}

func lookupAccount(name string) (account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return account{}, fmt.Errorf("look up system user %q: %w", name, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return account{}, fmt.Errorf("system user %q has a non-numeric uid %q or gid %q", name, u.Uid, u.Gid)
	}
	return account{name: name, uid: uid, gid: gid}, nil
}

// pickPorts is freePorts; tests replace it to hand out a taken port.
var pickPorts = freePorts

// freePorts picks n distinct free TCP ports on loopback by binding :0 and
// releasing. Another process may take one before the program binds it; the
// callers retry then (see startAttempts).
func freePorts(n int) ([]int, error) {
	var ports []int
	var lns []net.Listener
	defer func() {
		for _, ln := range lns {
			ln.Close()
		}
	}()
	for range n {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("pick a free port: %w", err)
		}
		lns = append(lns, ln)
		ports = append(ports, ln.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// process is a program started for an instance.
type process struct {
	name   string
	cmd    *exec.Cmd
	exited chan struct{} // closed when the process has exited
	err    error         // Wait's result, set before exited is closed
}

// startProcess runs path with its output in the file out.
func startProcess(name, out, path string, args ...string) (*process, error) {
	f, err := os.OpenFile(out, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer f.Close() // the child has its own copy
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.SysProcAttr = processAttr()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	p := &process{name: name, cmd: cmd, exited: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.exited)
	}()
	return p, nil
}

// hasExited reports whether the process has ended.
func (p *process) hasExited() bool {
	select {
	case <-p.exited:
		return true
	default:
		return false
	}
}

// stop ends the process and whatever it started. SIGTERM goes to the whole
// process group: Dovecot's master, told alone, spends over a second shutting
// its children down; told together, they are all gone in milliseconds.
// Signals go to the group only while its leader is alive and unreaped, so
// that the group id cannot have been reused by an unrelated process.
func (p *process) stop() error {
	if p.hasExited() {
		return nil
	}
	pgid := p.cmd.Process.Pid
	_ = signalGroup(pgid, syscall.SIGTERM)
	timer := time.NewTimer(stopTimeout)
	defer timer.Stop()
	select {
	case <-p.exited:
		return nil
	case <-timer.C:
		if p.hasExited() {
			return nil
		}
		_ = signalGroup(pgid, syscall.SIGKILL)
		<-p.exited
		return fmt.Errorf("%s did not stop within %v after SIGTERM; killed", p.name, stopTimeout)
	}
}

// greeting says how to tell that a listener is served: the first line a
// client reads (after the TLS handshake when tlsConf is set) must start with
// prefix.
type greeting struct {
	addr    string
	prefix  string
	tlsConf *tls.Config
}

// errExited is returned by waitReady when the process died first.
var errExited = errors.New("process exited")

// waitReady waits until every listener in gs answers with its greeting, the
// process exits, or ctx ends. Reading the greeting, not just connecting,
// matters: the master binds the ports before its login processes run.
func waitReady(ctx context.Context, p *process, gs []greeting) error {
	// A port the program failed to bind may belong to another process that
	// accepts and never greets: stop reading as soon as the program dies.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	for _, g := range gs {
		// Back off from pollInterval: every failed attempt may cost the
		// server a login process.
		delay := pollInterval
		for {
			err := readGreeting(ctx, g)
			if err == nil {
				break
			}
			var verr *tls.CertificateVerificationError
			if errors.As(err, &verr) {
				return fmt.Errorf("%s on %s: %w", p.name, g.addr, err) // will not get better
			}
			timer := time.NewTimer(delay)
			select {
			case <-ctx.Done(): // also when the process exits
				timer.Stop()
				if p.hasExited() {
					return fmt.Errorf("%s: %w (%v)", p.name, errExited, p.err)
				}
				return fmt.Errorf("%s not ready on %s: %w (last error: %v)", p.name, g.addr, ctx.Err(), err)
			case <-timer.C:
			}
			delay = min(2*delay, 200*time.Millisecond)
		}
	}
	return nil
}

func readGreeting(ctx context.Context, g greeting) error {
	d := net.Dialer{Timeout: time.Second}
	conn, err := d.DialContext(ctx, "tcp", g.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(5 * time.Second)); err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Now()) })
	defer stop()
	if g.tlsConf != nil {
		tc := tls.Client(conn, g.tlsConf)
		if err := tc.HandshakeContext(ctx); err != nil {
			return fmt.Errorf("TLS handshake: %w", err)
		}
		conn = tc
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return fmt.Errorf("read greeting: %w", err)
	}
	if !strings.HasPrefix(line, g.prefix) {
		return fmt.Errorf("unexpected greeting %q", line)
	}
	return nil
}

// clientTLS is a client configuration that trusts only pool. ServerName is
// set because tls.Client, unlike tls.Dial, does not take it from the
// address; the certificate names 127.0.0.1.
func clientTLS(pool *x509.CertPool) *tls.Config {
	return &tls.Config{RootCAs: pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// readTail returns the last n lines of the files, in order, for failure
// messages.
func readTail(n int, files ...string) string {
	var b strings.Builder
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil || len(data) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > n {
			lines = lines[len(lines)-n:]
		}
		fmt.Fprintf(&b, "--- %s (last %d lines)\n%s\n", filepath.Base(f), len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}
