// Package durable makes file-system changes survive a crash.
package durable

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
)

// SyncDir makes dir's entries (new files, renames, links) durable. File
// systems that cannot sync a directory (EINVAL) are taken as done.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, fs.ErrInvalid) {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
