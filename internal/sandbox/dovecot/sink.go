package dovecot

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// SinkHostname is the name smtp-sink gives itself in its greeting and EHLO
// reply.
const SinkHostname = "sink.test"

// Sink is a Postfix smtp-sink on loopback that accepts every message and
// dumps each to its own file. Dovecot's submission relays to one; tests of
// SMTP clients may use one directly.
type Sink struct {
	// Addr is where it listens, host:port.
	Addr string
	// Dir is the instance's directory; messages are dumped under Dir/dump.
	Dir string

	dumpDir string
	out     string
	proc    *process
	closes  *closeWatch

	stopOnce sync.Once
	stopErr  error
}

// SinkMessage is one mail transaction the sink received.
type SinkMessage struct {
	// From is the MAIL FROM address, without the angle brackets.
	From string
	// To are the RCPT TO addresses, in the order sent.
	To []string
	// Helo is the argument of the client's last EHLO or HELO.
	Helo string
	// Data is the message as sent in DATA, dot-unstuffed, with CRLF line
	// ends. smtp-sink drops every CR and records lines ending in LF, so a
	// bare LF in the original comes back as CRLF and a bare CR is lost.
	Data []byte
	// File is the dump file it was read from.
	File string
}

// launchSink runs smtp-sink on a free loopback port, telling logf about
// retries; Stop ends it. It returns a *MissingError when smtp-sink is not
// installed. On error nothing is left running and no directory is left
// behind.
func launchSink(logf func(format string, args ...any)) (_ *Sink, err error) {
	bin, err := findSink()
	if err != nil {
		return nil, fmt.Errorf("smtp-sink: %w", err)
	}
	dir, err := makeInstanceDir("mt-sink-")
	if err != nil {
		return nil, fmt.Errorf("smtp-sink: %w", err)
	}
	s := &Sink{Dir: dir, dumpDir: filepath.Join(dir, "dump"), out: filepath.Join(dir, "smtp-sink.log")}
	defer func() {
		if err == nil {
			return
		}
		if cerr := s.cleanUp(); cerr != nil {
			err = errors.Join(err, cerr)
		}
	}()
	if err := os.Mkdir(s.dumpDir, 0o755); err != nil {
		return nil, fmt.Errorf("smtp-sink: %w", err)
	}
	if s.closes, err = watchCloses(s.dumpDir); err != nil {
		return nil, fmt.Errorf("smtp-sink: %w", err)
	}
	var userArgs []string
	if os.Geteuid() == 0 {
		// smtp-sink refuses to run as root without -u; it drops to nobody
		// after binding, so nobody must be able to write the dumps.
		nobody, err := lookupAccount("nobody")
		if err != nil {
			return nil, fmt.Errorf("smtp-sink: %w", err)
		}
		if err := os.Chown(s.dumpDir, nobody.uid, nobody.gid); err != nil {
			return nil, fmt.Errorf("smtp-sink: %w", err)
		}
		userArgs = []string{"-u", nobody.name}
	}
	for attempt := 1; ; attempt++ {
		err := s.start(bin, userArgs)
		if err == nil {
			break
		}
		if errors.Is(err, errExited) && strings.Contains(s.log(), "in use") && attempt < startAttempts {
			logf("smtp-sink: a port was taken before smtp-sink bound it; retrying (%d/%d)", attempt, startAttempts)
			continue
		}
		return nil, fmt.Errorf("smtp-sink did not come up: %w\n%s", err, readTail(20, s.out))
	}
	return s, nil
}

// Stop ends smtp-sink and removes its directory, with the dumps. Calling it
// again does nothing and returns the first call's result.
func (s *Sink) Stop() error {
	s.stopOnce.Do(func() {
		var errs []error
		if err := s.proc.stop(); err != nil {
			errs = append(errs, fmt.Errorf("stop smtp-sink: %w", err))
		}
		s.stopErr = errors.Join(append(errs, s.cleanUp())...)
	})
	return s.stopErr
}

// cleanUp releases the watch and removes the directory, once smtp-sink is
// no longer running.
func (s *Sink) cleanUp() error {
	if s.closes != nil {
		s.closes.close()
	}
	if err := os.RemoveAll(s.Dir); err != nil {
		return fmt.Errorf("remove instance directory: %w", err)
	}
	return nil
}

func (s *Sink) start(bin string, userArgs []string) error {
	if err := os.Truncate(s.out, 0); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	ports, err := pickPorts(1)
	if err != nil {
		return err
	}
	s.Addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[0]))
	// -d: one file per transaction, named by the template plus a random
	// suffix; see messages for its life cycle.
	args := append(slices.Clip(userArgs), "-h", SinkHostname, "-d", filepath.Join(s.dumpDir, "%Y%m%d%H%M%S."), s.Addr, "64")
	proc, err := startProcess("smtp-sink", s.out, bin, args...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	if err := waitReady(ctx, proc, []greeting{{addr: s.Addr, prefix: "220 "}}); err != nil {
		_ = proc.stop()
		return err
	}
	s.proc = proc
	return nil
}

func (s *Sink) log() string {
	data, _ := os.ReadFile(s.out)
	return string(data)
}

// Received returns the messages received so far, oldest first. A
// transaction still in progress is left out.
func (s *Sink) Received() ([]SinkMessage, error) {
	msgs, err := s.messages()
	if err != nil {
		return nil, fmt.Errorf("smtp-sink: %w", err)
	}
	return msgs, nil
}

// messages reads the complete dump files in the order they were completed.
//
// smtp-sink creates a transaction's file at MAIL FROM, writes as data comes,
// and closes it after the final "." before it answers 250; an aborted
// transaction's file is unlinked before it is closed. So a file that is in
// the directory and no longer open is a complete message. Which files it
// holds open is read from /proc after listing the directory: a file listed
// and not open then is finished for good.
//
// File names carry only the second and mtimes are too coarse to order
// messages sent in quick succession, so the order comes from the inotify
// close events, which the kernel queues in the order the files were closed,
// before /proc stops listing them.
func (s *Sink) messages() ([]SinkMessage, error) {
	entries, err := os.ReadDir(s.dumpDir)
	if err != nil {
		return nil, err
	}
	open, err := openFiles(s.proc.cmd.Process.Pid)
	if err != nil && !s.proc.hasExited() {
		return nil, fmt.Errorf("find the dump files in progress: %w", err)
	}
	order := s.closes.order()
	type dumped struct {
		msg   SinkMessage
		seq   int // 0: no close event seen (the event queue overflowed)
		mtime time.Time
	}
	var all []dumped
	for _, e := range entries {
		path := filepath.Join(s.dumpDir, e.Name())
		if e.IsDir() || open[path] {
			continue
		}
		data, err := os.ReadFile(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // reset (RSET) after the directory was listed
		}
		if err != nil {
			return nil, err
		}
		info, err := e.Info()
		if err != nil {
			return nil, err
		}
		msg, err := parseSinkDump(data)
		if err != nil {
			return nil, fmt.Errorf("dump file %s: %w", e.Name(), err)
		}
		msg.File = path
		all = append(all, dumped{msg, order[e.Name()], info.ModTime()})
	}
	sort.SliceStable(all, func(i, j int) bool {
		a, b := all[i], all[j]
		if (a.seq == 0) != (b.seq == 0) {
			return b.seq == 0
		}
		if a.seq != b.seq {
			return a.seq < b.seq
		}
		if !a.mtime.Equal(b.mtime) {
			return a.mtime.Before(b.mtime)
		}
		return a.msg.File < b.msg.File
	})
	msgs := make([]SinkMessage, len(all))
	for i, d := range all {
		msgs[i] = d.msg
	}
	return msgs, nil
}

// parseSinkDump reads smtp-sink's dump format: its own X-Client-Addr,
// X-Client-Proto, X-Helo-Args, X-Mail-Args and X-Rcpt-Args records, a
// three-line Received header that ends them, the message, and an empty
// line. All lines end in LF.
func parseSinkDump(data []byte) (SinkMessage, error) {
	var m SinkMessage
	if !bytes.HasSuffix(data, []byte("\n\n")) {
		return m, errors.New("incomplete: no empty line at the end")
	}
	r := bufio.NewReader(bytes.NewReader(data[:len(data)-1]))
	readLine := func() (string, error) {
		line, err := r.ReadString('\n')
		if err != nil {
			return "", errors.New("truncated before the message")
		}
		return strings.TrimSuffix(line, "\n"), nil
	}
	haveFrom := false
	for {
		line, err := readLine()
		if err != nil {
			return m, err
		}
		name, value, ok := strings.Cut(line, ": ")
		if !ok {
			return m, fmt.Errorf("unexpected record %q", line)
		}
		switch name {
		case "X-Client-Addr", "X-Client-Proto":
		case "X-Helo-Args":
			m.Helo = value
		case "X-Mail-Args":
			m.From, haveFrom = pathArg(value), true
		case "X-Rcpt-Args":
			m.To = append(m.To, pathArg(value))
		case "Received":
			// Two continuation lines follow: "\tby ..." and "\t<date>".
			for range 2 {
				if line, err = readLine(); err != nil {
					return m, err
				}
				if !strings.HasPrefix(line, "\t") {
					return m, fmt.Errorf("unexpected Received line %q", line)
				}
			}
			if !haveFrom {
				return m, errors.New("no X-Mail-Args record")
			}
			var body bytes.Buffer
			for {
				line, err := r.ReadString('\n')
				if line != "" {
					body.WriteString(strings.TrimSuffix(line, "\n"))
					body.WriteString("\r\n")
				}
				if err != nil {
					break
				}
			}
			m.Data = body.Bytes()
			return m, nil
		default:
			return m, fmt.Errorf("unexpected record %q", line)
		}
	}
}

// pathArg extracts the address from a MAIL or RCPT argument string such as
// "<a@example.com> SIZE=123".
func pathArg(args string) string {
	addr, _, _ := strings.Cut(args, " ")
	return strings.TrimSuffix(strings.TrimPrefix(addr, "<"), ">")
}
