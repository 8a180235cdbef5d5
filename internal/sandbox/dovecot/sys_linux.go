//go:build linux

package dovecot

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
)

// supported says whether this system has what the harness needs: process
// groups and a parent-death signal, /proc and inotify.
const supported = true

func processAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{
		// Its own process group, so that stop can signal the program's
		// children with it.
		Setpgid: true,
		// A test binary killed by its timeout (or a demo killed with
		// SIGKILL) runs no cleanups; this takes the server down with it
		// instead of leaving it on its ports. (The kernel sends it when
		// the OS thread that started the process ends, which in Go happens
		// only to a thread locked by a goroutine that exits without
		// unlocking; code that does that must not start servers from such
		// a goroutine.)
		Pdeathsig: syscall.SIGTERM,
	}
}

func signalGroup(pgid int, sig syscall.Signal) error { return syscall.Kill(-pgid, sig) }

// closeWatch numbers the files closed after writing in a directory, in the
// order the kernel reports it (inotify IN_CLOSE_WRITE).
type closeWatch struct {
	fd int

	mu   sync.Mutex
	seq  map[string]int
	next int
}

func watchCloses(dir string) (*closeWatch, error) {
	fd, err := syscall.InotifyInit1(syscall.IN_NONBLOCK | syscall.IN_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	if _, err := syscall.InotifyAddWatch(fd, dir, syscall.IN_CLOSE_WRITE); err != nil {
		syscall.Close(fd)
		return nil, fmt.Errorf("inotify watch %s: %w", dir, err)
	}
	return &closeWatch{fd: fd, seq: map[string]int{}}, nil
}

// order reads the events queued so far and returns file name → its place
// in the close order, counting from 1.
func (w *closeWatch) order() map[string]int {
	w.mu.Lock()
	defer w.mu.Unlock()
	var buf [64 << 10]byte
	for w.fd >= 0 {
		n, err := syscall.Read(w.fd, buf[:])
		if err != nil || n <= 0 {
			break // EAGAIN: nothing more queued
		}
		for off := 0; off+syscall.SizeofInotifyEvent <= n; {
			// struct inotify_event: wd, mask, cookie, len, then len
			// bytes of NUL-padded name.
			nameLen := binary.NativeEndian.Uint32(buf[off+12:])
			nameStart := off + syscall.SizeofInotifyEvent
			nameEnd := nameStart + int(nameLen)
			if nameEnd > n {
				break
			}
			if name := string(bytes.TrimRight(buf[nameStart:nameEnd], "\x00")); name != "" {
				if _, seen := w.seq[name]; !seen {
					w.next++
					w.seq[name] = w.next
				}
			}
			off = nameEnd
		}
	}
	return maps.Clone(w.seq)
}

func (w *closeWatch) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fd >= 0 {
		syscall.Close(w.fd)
		w.fd = -1
	}
}

// openFiles returns the paths of the files pid holds open.
func openFiles(pid int) (map[string]bool, error) {
	fdDir := filepath.Join("/proc", strconv.Itoa(pid), "fd")
	fds, err := os.ReadDir(fdDir)
	if err != nil {
		return nil, err
	}
	open := make(map[string]bool, len(fds))
	for _, fd := range fds {
		if target, err := os.Readlink(filepath.Join(fdDir, fd.Name())); err == nil {
			open[target] = true
		}
	}
	return open, nil
}
