package dovecot

import (
	"fmt"
	"mailtokens/internal/testenv"
	"os"
	"path/filepath"
)

// installHint is how to get Dovecot with every protocol an instance serves.
const installHint = "apt-get install dovecot-imapd dovecot-pop3d dovecot-submissiond"

// MissingError says what this machine lacks to run an instance (or an
// smtp-sink), and how to get it. Tests skip on it (see Start); the demo
// refuses to start with it.
type MissingError struct {
	// What is missing: a program or Debian package ("dovecot-pop3d"), or a
	// condition ("root privileges (…)").
	What string
	// Remedy says how to get it: "apt-get install dovecot-pop3d",
	// "run as root".
	Remedy string
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("%s is not available (%s)", e.What, e.Remedy)
}

// Missing returns a *MissingError when Dovecot cannot run here: not Linux,
// Dovecot or one of its IMAP, POP3 and submission packages not installed,
// or not root. It returns nil when Launch can start an instance. Launch
// makes the same check; call Missing to find out before changing anything.
func Missing() error {
	_, err := findDovecot()
	return err
}

// programs are the installed programs an instance runs.
type programs struct {
	dovecot, doveadm string
}

// findDovecot finds the programs, or says what is missing. The order of the
// checks is the order in which a newcomer can fix them.
func findDovecot() (programs, error) {
	if err := requireLinux(); err != nil {
		return programs{}, err
	}
	var p programs
	var ok bool
	if p.dovecot, ok = testenv.Find("dovecot", "/usr/sbin/dovecot"); !ok {
		return programs{}, &MissingError{What: "dovecot", Remedy: installHint}
	}
	if p.doveadm, ok = testenv.Find("doveadm", "/usr/bin/doveadm"); !ok {
		return programs{}, &MissingError{What: "doveadm", Remedy: installHint}
	}
	// The master starts but refuses the protocol when a package is missing;
	// say which one instead.
	libexec := filepath.Join(filepath.Dir(filepath.Dir(p.dovecot)), "lib", "dovecot")
	for _, pkg := range []struct{ bin, name string }{
		{"imap-login", "dovecot-imapd"},
		{"pop3-login", "dovecot-pop3d"},
		{"submission-login", "dovecot-submissiond"},
	} {
		if _, err := os.Stat(filepath.Join(libexec, pkg.bin)); err != nil {
			return programs{}, &MissingError{What: pkg.name, Remedy: "apt-get install " + pkg.name}
		}
	}
	if err := requireRoot("Dovecot"); err != nil {
		return programs{}, err
	}
	return p, nil
}

// findSink finds smtp-sink, or says what is missing.
func findSink() (string, error) {
	if err := requireLinux(); err != nil {
		return "", err
	}
	bin, ok := testenv.Find("smtp-sink", "/usr/sbin/smtp-sink", "/usr/lib/postfix/sbin/smtp-sink")
	if !ok {
		return "", &MissingError{What: "smtp-sink", Remedy: "apt-get install postfix"}
	}
	return bin, nil
}

// requireLinux says when the harness cannot work here; see supported.
func requireLinux() error {
	if !supported {
		return &MissingError{What: "Linux (for process groups, /proc and inotify)", Remedy: "run it on Linux"}
	}
	return nil
}

// requireRoot says when the programs cannot run the way they must: they
// start as root and drop privileges themselves.
func requireRoot(what string) error {
	if os.Geteuid() != 0 {
		return &MissingError{What: "root privileges (to run " + what + ", which drops privileges itself)", Remedy: "run it as root, e.g. with sudo"}
	}
	return nil
}
