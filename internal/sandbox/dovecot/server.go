package dovecot

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Options configures an instance.
type Options struct {
	// IntrospectionURL is the RFC 7662 endpoint Dovecot's oauth2 passdb
	// asks about every token, usually the sandbox identity provider's
	// URL()+"/introspect". Required. Credentials for a server that wants
	// the resource server to authenticate (RFC 7662 §2.1) go in the URL's
	// user info, http://client_id:secret@host/...: Dovecot sends them as
	// HTTP Basic.
	IntrospectionURL string
	// UsernameAttribute is the field of the introspection answer that
	// names the mailbox ("" = "username", what the sandbox identity
	// provider answers; "email" for servers that carry the address in an
	// extra claim).
	UsernameAttribute string
	// Passwords are users who may also log in with a password (IMAP LOGIN,
	// POP3 USER/PASS, PLAIN, LOGIN), user → password. Tokens keep working
	// for everyone, also as the password of AUTHENTICATE PLAIN (not of IMAP
	// LOGIN, whose 1 KiB line limit a JWT exceeds).
	Passwords map[string]string
	// RelayHost is where submission relays mail, host:port. Empty starts an
	// smtp-sink for the instance (Server.Sink).
	RelayHost string
	// TLS adds implicit-TLS listeners (IMAPS, POP3S, submissions) and
	// STARTTLS on the plain ones, with a certificate from a throwaway CA
	// (Server.CAFile, Server.CAPool, Server.TLSConfig).
	TLS bool
	// Debug turns on auth_debug, mail_debug and the oauth2 passdb's debug
	// log, for chasing a login that fails for no visible reason.
	Debug bool
	// Clients is how many IMAP and POP3 sessions the instance must serve at
	// once; 0 leaves the limits for tests' ordinary needs (under 200). Above
	// that it raises the process limit of the imap and pop3 services (one
	// process per session), runs the login services in Dovecot's
	// high-performance mode (service_count = 0: a few processes each
	// proxying many sessions, instead of one process per TLS session for
	// its whole life) and raises the client limits of the services every
	// process talks to (log, anvil, auth). See clientLimits.
	Clients int
	// IdleCheckInterval is mailbox_idle_check_interval: how often an IMAP
	// session in IDLE looks at its mailbox when it cannot rely on inotify
	// (0: Dovecot's 30 s). Every IDLE session of an instance runs as the
	// one mail uid, so past fs.inotify.max_user_instances (128 on many
	// systems) sessions IDLE without inotify and see new mail only this
	// often. Whole seconds; under 1 s counts as 1 s.
	IdleCheckInterval time.Duration
}

// Server is a running Dovecot instance.
type Server struct {
	// Listener addresses, host:port; the TLS ones are empty unless
	// Options.TLS.
	IMAPAddr, IMAPSAddr             string
	POP3Addr, POP3SAddr             string
	SubmissionAddr, SubmissionsAddr string

	// Dir is the instance's directory: dovecot.conf, logs, TLS files and
	// the mail (mail/<user>, Maildir). Stop removes it.
	Dir string
	// ConfigFile is Dir/dovecot.conf, for running doveadm or dovecot-lda
	// with -c against this instance.
	ConfigFile string

	// CAFile is the PEM file of the CA that signed the server certificate,
	// and CAPool the same CA for tls.Config.RootCAs. Unset unless
	// Options.TLS.
	CAFile string
	CAPool *x509.CertPool

	// Sink receives what submission relays, unless Options.RelayHost named
	// another relay (then it is nil). It stops with the instance.
	Sink *Sink

	doveadm  string
	logFiles []string
	proc     *process

	stopOnce sync.Once
	stopErr  error
}

// Launch runs a private Dovecot on free loopback ports; Stop ends it. It
// returns a *MissingError when Dovecot cannot run here (see Missing), and
// an error holding the tail of Dovecot's log when the instance does not come
// up. On error nothing is left running and no directory is left behind.
func Launch(opt Options) (*Server, error) {
	return launch(opt, func(string, ...any) {})
}

// launch is Launch with logf told about retries, so that a test's log says
// why its instance took longer.
func launch(opt Options, logf func(format string, args ...any)) (_ *Server, err error) {
	progs, err := findDovecot()
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	if opt.IntrospectionURL == "" {
		return nil, errors.New("dovecot: Options.IntrospectionURL is required")
	}
	// The dovecot system user owns the mail (a static mail uid) and its group
	// may read the auth files; its uid is the one Dovecot's own unprivileged
	// processes run as, so no further user needs access to the directory.
	dovecotUser, err := lookupAccount("dovecot")
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}

	dir, err := makeInstanceDir("mt-dovecot-")
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	s := &Server{
		Dir:        dir,
		ConfigFile: filepath.Join(dir, "dovecot.conf"),
		doveadm:    progs.doveadm,
		logFiles:   []string{filepath.Join(dir, "stderr.log"), filepath.Join(dir, "dovecot.log")},
	}
	defer func() {
		if err == nil {
			return
		}
		if cerr := s.cleanUp(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	p := confParams{
		Instance:         "mt-" + strings.TrimPrefix(filepath.Base(dir), "mt-dovecot-"),
		StateDir:         filepath.Join(dir, "state"),
		LogFile:          s.logFiles[1],
		MailRoot:         filepath.Join(dir, "mail"),
		OAuth2File:       filepath.Join(dir, "oauth2.conf.ext"),
		MailUser:         dovecotUser.name,
		MailUID:          dovecotUser.uid,
		TLS:              opt.TLS,
		Debug:            opt.Debug,
		Hostname:         Hostname,
		ProcessLimit:     200,
		UserIPConnLimits: 200,
	}
	if opt.Clients < 0 {
		return nil, errors.New("dovecot: Options.Clients is negative")
	}
	p.clientLimits(opt.Clients)
	if opt.IdleCheckInterval > 0 {
		p.IdleCheckSecs = max(1, int(opt.IdleCheckInterval/time.Second))
	}
	if err := os.Mkdir(p.MailRoot, 0o750); err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	if err := os.Chown(p.MailRoot, dovecotUser.uid, dovecotUser.gid); err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	usernameAttribute := opt.UsernameAttribute
	if usernameAttribute == "" {
		usernameAttribute = "username"
	}
	oauth2, err := render(oauth2Conf, struct {
		URL, UsernameAttribute string
		Debug                  bool
	}{opt.IntrospectionURL, usernameAttribute, opt.Debug})
	if err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	if err := writeAuthFile(p.OAuth2File, oauth2, dovecotUser.gid); err != nil {
		return nil, fmt.Errorf("dovecot: %w", err)
	}
	if len(opt.Passwords) > 0 {
		data, err := passwdFile(opt.Passwords)
		if err != nil {
			return nil, fmt.Errorf("dovecot: %w", err)
		}
		p.Passwd = filepath.Join(dir, "passwd")
		if err := writeAuthFile(p.Passwd, data, dovecotUser.gid); err != nil {
			return nil, fmt.Errorf("dovecot: %w", err)
		}
	}
	if opt.TLS {
		files, err := writeTLSFiles(dir)
		if err != nil {
			return nil, fmt.Errorf("dovecot: %w", err)
		}
		p.CertFile, p.KeyFile = files.certFile, files.keyFile
		s.CAFile, s.CAPool = files.caFile, files.pool
	}

	relay := opt.RelayHost
	if relay == "" {
		if s.Sink, err = launchSink(logf); err != nil {
			return nil, err
		}
		relay = s.Sink.Addr
	}
	host, port, err := net.SplitHostPort(relay)
	if err != nil {
		return nil, fmt.Errorf("dovecot: relay host %q: %w", relay, err)
	}
	p.RelayHost = host
	if p.RelayPort, err = strconv.Atoi(port); err != nil {
		return nil, fmt.Errorf("dovecot: relay host %q: port is not a number", relay)
	}

	for attempt := 1; ; attempt++ {
		err := s.start(progs.dovecot, p)
		if err == nil {
			break
		}
		// Another process took a port between freePorts and Dovecot's bind.
		if errors.Is(err, errExited) && strings.Contains(s.Log(), "Address already in use") && attempt < startAttempts {
			logf("dovecot: a port was taken before Dovecot bound it; retrying (%d/%d)", attempt, startAttempts)
			if err := truncateLogs(s.logFiles); err != nil {
				return nil, fmt.Errorf("dovecot: %w", err)
			}
			continue
		}
		return nil, fmt.Errorf("dovecot did not come up: %w\n%s", err, readTail(40, s.logFiles...))
	}
	return s, nil
}

// Stop ends the instance and whatever it started (Dovecot's processes, the
// smtp-sink that Launch started for it) and removes its directory. Calling
// it again does nothing and returns the first call's result.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if err := s.proc.stop(); err != nil {
			// Read before the directory and its logs go.
			errs = append(errs, fmt.Errorf("stop dovecot: %w\n%s", err, readTail(20, s.logFiles...)))
		}
		s.stopErr = errors.Join(append(errs, s.cleanUp())...)
	})
	return s.stopErr
}

// cleanUp stops the sink Launch started and removes the directory, once
// Dovecot is no longer running.
func (s *Server) cleanUp() error {
	var errs []error
	if s.Sink != nil {
		errs = append(errs, s.Sink.Stop())
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		errs = append(errs, fmt.Errorf("remove instance directory: %w", err))
	}
	return errors.Join(errs...)
}

// start makes one attempt: fresh ports, fresh base_dir, the process, and the
// wait for every listener's greeting. On failure nothing is left running.
func (s *Server) start(dovecotBin string, p confParams) error {
	n := 3
	if p.TLS {
		n = 6
	}
	ports, err := pickPorts(n)
	if err != nil {
		return err
	}
	p.IMAP, p.POP3, p.Submission = ports[0], ports[1], ports[2]
	p.IMAPS, p.POP3S, p.Submissions = 0, 0, 0
	if p.TLS {
		p.IMAPS, p.POP3S, p.Submissions = ports[3], ports[4], ports[5]
	}
	// A base_dir left by a failed attempt could hold an anvil socket from
	// before the penalty was configured off, or a master.pid.
	p.BaseDir = filepath.Join(s.Dir, "run")
	if err := os.RemoveAll(p.BaseDir); err != nil {
		return err
	}
	conf, err := render(dovecotConf, p)
	if err != nil {
		return err
	}
	if err := os.WriteFile(s.ConfigFile, conf, 0o644); err != nil {
		return err
	}

	addr := func(port int) string {
		if port == 0 {
			return ""
		}
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	}
	s.IMAPAddr, s.IMAPSAddr = addr(p.IMAP), addr(p.IMAPS)
	s.POP3Addr, s.POP3SAddr = addr(p.POP3), addr(p.POP3S)
	s.SubmissionAddr, s.SubmissionsAddr = addr(p.Submission), addr(p.Submissions)

	proc, err := startProcess("dovecot", s.logFiles[0], dovecotBin, "-F", "-c", s.ConfigFile)
	if err != nil {
		return err
	}
	gs := []greeting{
		{addr: s.IMAPAddr, prefix: "* OK"},
		{addr: s.POP3Addr, prefix: "+OK"},
		{addr: s.SubmissionAddr, prefix: "220 "},
	}
	if p.TLS {
		tc := s.TLSConfig()
		gs = append(gs,
			greeting{addr: s.IMAPSAddr, prefix: "* OK", tlsConf: tc},
			greeting{addr: s.POP3SAddr, prefix: "+OK", tlsConf: tc},
			greeting{addr: s.SubmissionsAddr, prefix: "220 ", tlsConf: tc},
		)
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := waitReady(ctx, proc, gs); err != nil {
		_ = proc.stop()
		return err
	}
	s.proc = proc
	return nil
}

// TLSConfig returns a client configuration that trusts the instance's CA
// and nothing else; it verifies the listeners' addresses as they are
// (127.0.0.1). It returns nil unless Options.TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.CAPool == nil {
		return nil
	}
	return clientTLS(s.CAPool)
}

// Log returns what Dovecot has logged so far: its stderr (start-up errors)
// and its log file (logins, failures with their reasons, auth debug).
func (s *Server) Log() string {
	var b strings.Builder
	for _, f := range s.logFiles {
		data, err := os.ReadFile(f)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			fmt.Fprintf(&b, "(read %s: %v)\n", filepath.Base(f), err)
		}
		b.Write(data)
	}
	return b.String()
}

// writeAuthFile writes a file for the auth process, which reads it after
// dropping to the dovecot user: readable by root and the dovecot group only.
func writeAuthFile(path string, data []byte, gid int) error {
	if err := os.WriteFile(path, data, 0o640); err != nil {
		return err
	}
	return os.Chown(path, 0, gid)
}

func truncateLogs(files []string) error {
	for _, f := range files {
		if err := os.Truncate(f, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	return nil
}
