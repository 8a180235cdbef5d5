package mailout

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"mailtokens/internal/durable"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// The spool's directories.
const (
	DirTmp    = "tmp"    // being written; renamed into new/ when complete
	DirNew    = "new"    // queued, with a .NAME.state file once an attempt failed
	DirSent   = "sent"   // accepted by the server
	DirFailed = "failed" // refused for good, with NAME.reply beside it
)

// Suffixes of the files batchmail keeps beside messages.
const (
	stateSuffix = ".state" // new/.NAME.state: retry state (JSON)
	replySuffix = ".reply" // failed/NAME.reply, sent/NAME.reply: the server's replies, for people
)

// staleTmp is how old a file in tmp/ must be before batchmail deletes it:
// a writer that crashed left it there (the Maildir convention's 36 hours).
const staleTmp = 36 * time.Hour

// Spool is the outbox directory: MAIL_SPOOL_DIR with tmp/, new/, sent/ and
// failed/ inside.
type Spool struct {
	Dir string
}

// OpenSpool returns the spool at dir, creating dir and its subdirectories
// as needed.
func OpenSpool(dir string) (*Spool, error) {
	for _, sub := range []string{DirTmp, DirNew, DirSent, DirFailed} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o750); err != nil {
			return nil, fmt.Errorf("spool %s: %w", dir, err)
		}
	}
	return &Spool{Dir: dir}, nil
}

func (s *Spool) path(sub, name string) string { return filepath.Join(s.Dir, sub, name) }

func statePath(s *Spool, name string) string { return s.path(DirNew, "."+name+stateSuffix) }

// queued is a message in new/.
type queued struct {
	name     string
	modTime  time.Time
	hasState bool
}

// list returns the messages in new/, oldest first. Names starting with a
// dot are not messages (the Maildir convention): they are batchmail's state
// files, and a state file whose message is gone is removed.
func (s *Spool) list() ([]queued, error) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, DirNew))
	if err != nil {
		return nil, fmt.Errorf("list the queue: %w", err)
	}
	names := map[string]bool{}
	for _, e := range entries {
		names[e.Name()] = true
	}
	var out []queued
	for _, e := range entries {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			if msg, ok := strings.CutSuffix(name[1:], stateSuffix); ok && !names[msg] {
				// The message left new/ and batchmail stopped before
				// removing its state.
				_ = os.Remove(s.path(DirNew, name))
			}
			continue
		}
		if !e.Type().IsRegular() {
			continue
		}
		info, err := e.Info()
		if err != nil {
			continue // gone since ReadDir
		}
		out = append(out, queued{name: name, modTime: info.ModTime(), hasState: names["."+name+stateSuffix]})
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].modTime.Equal(out[j].modTime) {
			return out[i].modTime.Before(out[j].modTime)
		}
		return out[i].name < out[j].name
	})
	return out, nil
}

// loadState reads a message's retry state.
func (s *Spool) loadState(name string) (*retryState, error) {
	data, err := os.ReadFile(statePath(s, name))
	if errors.Is(err, fs.ErrNotExist) {
		return &retryState{}, nil
	}
	if err != nil {
		return nil, err
	}
	return parseState(data)
}

// saveState replaces a message's retry state atomically.
func (s *Spool) saveState(name string, st *retryState) error {
	return s.writeAtomic(DirNew, "."+name+stateSuffix, st.marshal())
}

// writeAtomic writes data to sub/name through a file in tmp/: written,
// fsynced, renamed into place, and the directory fsynced, so that after a
// crash the file is either the old one or the new one, whole.
func (s *Spool) writeAtomic(sub, name string, data []byte) error {
	tmp := s.path(DirTmp, "."+name+"."+randomHex(6))
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, s.path(sub, name))
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return durable.SyncDir(filepath.Join(s.Dir, sub))
}

// finish moves a message out of new/ into sub (sent/ or failed/), with a
// note for people beside it when note is not empty, or deletes it (remove,
// for sent messages with MAIL_KEEP_SENT = NO), and then drops its state.
//
// The note is written first and the message renamed after it, so that a
// message is never in sent/ or failed/ without its note. A crash between
// the steps leaves the message in new/, to be sent again; a crash after
// the rename leaves a state file, which list removes.
func (s *Spool) finish(name, sub, note string, remove bool) error {
	if note != "" {
		if err := s.writeAtomic(sub, name+replySuffix, []byte(note)); err != nil {
			return fmt.Errorf("write the note beside %s: %w", name, err)
		}
	}
	var err error
	if remove {
		err = os.Remove(s.path(DirNew, name))
	} else {
		err = os.Rename(s.path(DirNew, name), s.path(sub, name))
	}
	if err != nil {
		return fmt.Errorf("move %s out of new/: %w", name, err)
	}
	if err := os.Remove(statePath(s, name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove the state of %s: %w", name, err)
	}
	return nil
}

// cleanTmp deletes files in tmp/ that were last written before cutoff:
// left behind by a writer that crashed.
func (s *Spool) cleanTmp(cutoff time.Time) {
	entries, err := os.ReadDir(filepath.Join(s.Dir, DirTmp))
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() && info.ModTime().Before(cutoff) {
			_ = os.Remove(s.path(DirTmp, e.Name()))
		}
	}
}

// uniqueName is a Maildir-style unique file name: the time, the process,
// randomness and the host, so that names sort by time and never collide
// between processes or machines sharing a spool.
func uniqueName(now time.Time) string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	host = strings.NewReplacer("/", "_", ":", "_", ".", "_").Replace(host)
	return fmt.Sprintf("%d.M%06dP%dR%s.%s.eml", now.Unix(), now.Nanosecond()/1000, os.Getpid(), randomHex(6), host)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) // never fails (crypto/rand)
	return hex.EncodeToString(b)
}
