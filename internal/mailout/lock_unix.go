//go:build unix

package mailout

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// lockName is the file in MAIL_SPOOL_DIR that one batchmail at a time
// holds a lock on.
const lockName = ".batchmail.lock"

// Lock makes sure that only one batchmail sends from the spool: two would
// send every message twice. The lock is an flock on MAIL_SPOOL_DIR/.batchmail.lock,
// which the kernel releases when the process ends, however it ends. unlock
// releases it earlier.
func (s *Spool) Lock() (unlock func(), err error) {
	path := filepath.Join(s.Dir, lockName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock the spool: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("another batchmail is already sending from %s (it holds %s)", s.Dir, path)
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	return func() { f.Close() }, nil
}
