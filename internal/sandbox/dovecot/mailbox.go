package dovecot

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Message is a message as it is stored on the server.
type Message struct {
	UID uint32
	// Flags are the message's flags and keywords as Dovecot lists them,
	// without \Recent, which belongs to a session rather than the message.
	Flags []string
	// Data is the whole message, byte for byte what an IMAP client gets for
	// BODY[] (stored with CRLF line ends; see mail_save_crlf in config.go).
	Data []byte
}

// Save puts msg into user's folder with `doveadm save`, which stores the
// message as given (bare LFs become CRLF) and adds no header: no
// Return-Path, Delivered-To or Received that an LDA would add. user may be
// anyone (Dovecot lowercases it); the mailbox is created on first use.
// folder must exist: INBOX, or one of the special-use folders Drafts, Sent,
// Junk and Trash, created on first use. It may be called from any goroutine.
func (s *Server) Save(user, folder string, msg []byte) error {
	if _, err := s.runDoveadm(bytes.NewReader(msg), "save", "-u", user, "-m", folder); err != nil {
		return fmt.Errorf("save into %s/%s: %w", user, folder, err)
	}
	return nil
}

// Fetch returns the messages in user's folder in UID order, read with
// `doveadm fetch`, which neither logs in nor changes flags. A folder that
// does not exist is empty.
func (s *Server) Fetch(user, folder string) ([]Message, error) {
	// size.physical comes before text so that the parser knows where each
	// message ends, whatever bytes it holds.
	out, err := s.runDoveadm(nil, "fetch", "-u", user, "uid flags size.physical text", "mailbox", folder)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: %w", user, folder, err)
	}
	msgs, err := parseFetch(out)
	if err != nil {
		return nil, fmt.Errorf("read %s/%s: doveadm fetch output: %w", user, folder, err)
	}
	return msgs, nil
}

// runDoveadm runs doveadm against the instance. doveadm works on the mail
// files directly, as the mail uid, after asking the instance's auth process
// for the user.
func (s *Server) runDoveadm(stdin io.Reader, args ...string) ([]byte, error) {
	cmd := exec.Command(s.doveadm, append([]string{"-c", s.ConfigFile}, args...)...)
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("doveadm %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.Bytes(), nil
}

// parseFetch reads `doveadm fetch 'uid flags size.physical text'` output in
// its default (pager) format: per message the lines "uid: N", "flags: ...",
// "size.physical: N", "text:", then exactly N bytes of message; messages are
// separated by a form feed line.
func parseFetch(out []byte) ([]Message, error) {
	rest := out
	field := func(name string) (string, error) {
		line, after, ok := bytes.Cut(rest, []byte("\n"))
		if !ok {
			return "", fmt.Errorf("truncated before %q", name)
		}
		value, ok := strings.CutPrefix(string(line), name+":")
		if !ok {
			return "", fmt.Errorf("want %q, got %q", name, line)
		}
		rest = after
		return strings.TrimPrefix(value, " "), nil
	}
	var msgs []Message
	for len(rest) > 0 {
		var m Message
		v, err := field("uid")
		if err != nil {
			return nil, err
		}
		uid, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("uid %q: %w", v, err)
		}
		m.UID = uint32(uid)
		if v, err = field("flags"); err != nil {
			return nil, err
		}
		for _, f := range strings.Fields(v) {
			if f != `\Recent` {
				m.Flags = append(m.Flags, f)
			}
		}
		if v, err = field("size.physical"); err != nil {
			return nil, err
		}
		size, err := strconv.Atoi(v)
		if err != nil || size < 0 {
			return nil, fmt.Errorf("size.physical %q", v)
		}
		if v, err = field("text"); err != nil {
			return nil, err
		}
		if v != "" {
			return nil, fmt.Errorf("text: unexpected %q on its line", v)
		}
		if size > len(rest) {
			return nil, fmt.Errorf("message %d: want %d bytes, have %d", m.UID, size, len(rest))
		}
		m.Data, rest = bytes.Clone(rest[:size]), rest[size:]
		if m.Data == nil {
			m.Data = []byte{}
		}
		msgs = append(msgs, m)
		if len(rest) > 0 {
			after, ok := bytes.CutPrefix(rest, []byte("\f\n"))
			if !ok {
				return nil, fmt.Errorf("after message %d: want a form feed line, got %.20q", m.UID, rest)
			}
			rest = after
		}
	}
	return msgs, nil
}

// SaveMany fills user's INBOX with msgs quickly, for benchmarks that need
// thousands of messages (Save runs one doveadm per message): the files are
// written straight into the Maildir's new/ as the mail user, then Dovecot
// indexes them, so the first login does not pay for it.
func (s *Server) SaveMany(user string, msgs [][]byte) error {
	// Let Dovecot create the user's Maildir with its own ownership.
	if _, err := s.runDoveadm(nil, "mailbox", "status", "-u", user, "messages", "INBOX"); err != nil {
		return fmt.Errorf("create the mailbox of %s: %w", user, err)
	}
	newDir := filepath.Join(s.Dir, "mail", strings.ToLower(user), "new")
	fi, err := os.Stat(newDir)
	if err != nil {
		return fmt.Errorf("save into %s: %w", user, err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	for i, m := range msgs {
		name := filepath.Join(newDir, fmt.Sprintf("%d.bulk%06d.%s", time.Now().Unix(), i, Hostname))
		if err := os.WriteFile(name, m, 0o600); err != nil {
			return fmt.Errorf("save into %s: %w", user, err)
		}
		if err := os.Chown(name, int(st.Uid), int(st.Gid)); err != nil {
			return fmt.Errorf("save into %s: %w", user, err)
		}
	}
	if _, err := s.runDoveadm(nil, "mailbox", "status", "-u", user, "messages", "INBOX"); err != nil {
		return fmt.Errorf("index the mailbox of %s: %w", user, err)
	}
	return nil
}
