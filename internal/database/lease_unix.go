//go:build unix

package database

import (
	"errors"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// deadHere reports whether owner is a process of this host that no longer
// runs (killed without releasing its lease): its lease is free at once
// rather than when its time runs out. Owners on other hosts cannot be
// asked; their leases run out.
func deadHere(owner string) bool {
	host, _ := os.Hostname()
	parts := strings.Split(owner, "/")
	if len(parts) != 3 || parts[0] != host {
		return false
	}
	pid, err := strconv.Atoi(parts[1])
	if err != nil || pid <= 0 {
		return false
	}
	return errors.Is(syscall.Kill(pid, 0), syscall.ESRCH)
}
