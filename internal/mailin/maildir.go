package mailin

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"mailtokens/internal/durable"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// Maildir delivers into a Maildir (tmp/, new/, cur/).
type Maildir struct {
	Dir  string
	host string
	seq  atomic.Uint64
}

// OpenMaildir creates the Maildir's directories if needed.
func OpenMaildir(dir string) (*Maildir, error) {
	for _, sub := range []string{"tmp", "new", "cur"} {
		if err := os.MkdirAll(filepath.Join(dir, sub), 0o700); err != nil {
			return nil, fmt.Errorf("maildir %s: %w", dir, err)
		}
	}
	host, _ := os.Hostname()
	// A Maildir name's host part must not contain / or :.
	host = strings.NewReplacer("/", `\057`, ":", `\072`).Replace(host)
	if host == "" {
		host = "localhost"
	}
	return &Maildir{Dir: dir, host: host}, nil
}

// Name returns a new unique file name (Maildir's time.unique.host).
func (m *Maildir) Name(now time.Time) string {
	b := make([]byte, 6)
	rand.Read(b)
	return fmt.Sprintf("%d.M%dP%dQ%dR%s.%s", now.Unix(), now.Nanosecond()/1000, os.Getpid(), m.seq.Add(1), hex.EncodeToString(b), m.host)
}

// SyncNew makes the renames into new/ durable. Several writes may share
// one sync: until it, a crash may undo a rename (and the message is then
// fetched again), never leave a partial file.
func (m *Maildir) SyncNew() error { return durable.SyncDir(filepath.Join(m.Dir, "new")) }

// write stores the message under name: tmp/ first, synced, then renamed
// into new/, so the file is either whole in new/ or not there; SyncNew
// makes the rename durable. ctx ending abandons the write and removes the
// tmp file.
func (m *Maildir) write(ctx context.Context, name string, r io.Reader) (err error) {
	tmp := filepath.Join(m.Dir, "tmp", name)
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("maildir: create %s: %w", tmp, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	lf := &lfWriter{w: f}
	if _, err = io.Copy(lf, contextReader{ctx, r}); err != nil {
		return fmt.Errorf("maildir: write %s: %w", tmp, err)
	}
	if err = lf.Flush(); err != nil {
		return fmt.Errorf("maildir: write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("maildir: sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("maildir: close %s: %w", tmp, err)
	}
	if err = os.Rename(tmp, filepath.Join(m.Dir, "new", name)); err != nil {
		return fmt.Errorf("maildir: move %s into new/: %w", name, err)
	}
	return nil
}

// Has reports whether name was delivered: it is in new/, or a reader
// moved it to cur/ (adding ":2,flags").
func (m *Maildir) Has(name string) bool {
	if _, err := os.Stat(filepath.Join(m.Dir, "new", name)); err == nil {
		return true
	}
	matches, _ := filepath.Glob(filepath.Join(m.Dir, "cur", globEscape(name)+":*"))
	if len(matches) > 0 {
		return true
	}
	_, err := os.Stat(filepath.Join(m.Dir, "cur", name))
	return err == nil
}

// Discard removes a pending message's leftover in tmp/, if any.
func (m *Maildir) Discard(name string) {
	os.Remove(filepath.Join(m.Dir, "tmp", name))
}

// CleanTmp removes files older than age from tmp/: writes a crash left
// behind (Maildir readers ignore tmp/; the messages are fetched again).
func (m *Maildir) CleanTmp(age time.Duration, now time.Time) {
	entries, _ := os.ReadDir(filepath.Join(m.Dir, "tmp"))
	for _, e := range entries {
		if info, err := e.Info(); err == nil && now.Sub(info.ModTime()) > age {
			os.Remove(filepath.Join(m.Dir, "tmp", e.Name()))
		}
	}
}

func globEscape(s string) string {
	return strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`).Replace(s)
}

// contextReader stops a copy when ctx ends (SIGTERM in the middle of a
// large message).
type contextReader struct {
	ctx context.Context
	r   io.Reader
}

func (c contextReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// A Maildir is a destination: each message is a file of its own, written
// in tmp/ and renamed into new/.

func (m *Maildir) location(now time.Time) string { return m.Name(now) }
func (m *Maildir) has(location string) bool      { return m.Has(location) }
func (m *Maildir) discard(location string)       { m.Discard(location) }
func (m *Maildir) sync() error                   { return m.SyncNew() }

func (m *Maildir) deliver(ctx context.Context, location, _ string, _ bool, body io.Reader) error {
	return m.write(ctx, location, body)
}
