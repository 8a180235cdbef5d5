//go:build !linux

package dovecot

import (
	"errors"
	"syscall"
)

// supported is false: the harness needs Linux's process groups with a
// parent-death signal, /proc and inotify. Missing says so, Launch
// refuses, and Start and StartSink skip.
const supported = false

var errUnsupported = errors.New("dovecot harness: needs Linux")

func processAttr() *syscall.SysProcAttr { return nil }

func signalGroup(int, syscall.Signal) error { return errUnsupported }

type closeWatch struct{}

func watchCloses(string) (*closeWatch, error) { return nil, errUnsupported }

func (*closeWatch) order() map[string]int { return nil }

func (*closeWatch) close() {}

func openFiles(int) (map[string]bool, error) { return nil, errUnsupported }
