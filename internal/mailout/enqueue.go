package mailout

import (
	"fmt"
	"io"
	"mailtokens/internal/durable"
	"os"
	"path/filepath"
	"time"
)

// Enqueue queues the message read from r the way applications should: it
// is written into tmp/, fsynced, checked, renamed into new/ and the
// directory fsynced, so that batchmail never sees half a message and a
// message Enqueue returned for survives a crash. Input that is not an
// RFC 5322 message with a From field and at least one recipient in To, Cc
// or Bcc is refused with a *FormatError, and nothing is queued. It returns
// the path of the queued file.
func (s *Spool) Enqueue(r io.Reader) (string, error) {
	name := uniqueName(time.Now())
	tmp := s.path(DirTmp, name)
	f, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return "", fmt.Errorf("enqueue: %w", err)
	}
	queued := false
	defer func() {
		if !queued {
			os.Remove(tmp)
		}
	}()
	if _, err := io.Copy(f, r); err != nil {
		f.Close()
		return "", fmt.Errorf("enqueue: copy the message into %s: %w", tmp, err)
	}
	m, err := checkMessage(f)
	if err == nil {
		err = m.checkNew()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	dst := s.path(DirNew, name)
	if err := os.Rename(tmp, dst); err != nil {
		return "", fmt.Errorf("enqueue: %w", err)
	}
	queued = true
	if err := durable.SyncDir(filepath.Join(s.Dir, DirNew)); err != nil {
		return dst, fmt.Errorf("enqueue: the message is in %s, but syncing the directory failed: %w", dst, err)
	}
	return dst, nil
}
