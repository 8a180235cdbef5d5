package mailin

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"
)

// Command delivers by running a program with the message on stdin; exit
// status 0 means delivered.
type Command struct {
	Argv    []string
	Timeout time.Duration // 0 = 10 minutes
}

// Run pipes the message to the program. key identifies the message for
// good (the program may use it to recognise a redelivery after a crash).
func (c *Command) Run(ctx context.Context, key string, redelivery bool, r io.Reader) error {
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Minute
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Argv[0], c.Argv[1:]...)
	cmd.Env = append(os.Environ(), "MAILTOKENS_MESSAGE_KEY="+key)
	if redelivery {
		cmd.Env = append(cmd.Env, "MAILTOKENS_REDELIVERY=1")
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return err
	}
	var stderr limitedBuffer
	cmd.Stderr = &stderr
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("deliver: start %s: %w", c.Argv[0], err)
	}
	lf := &lfWriter{w: stdin}
	// A program may stop reading early and still exit 0: exit 0 is the
	// contract, so a broken pipe alone is not a failure. A message that
	// did not arrive whole is: the program is killed before its input
	// ends, so that it never takes a part for the whole.
	in := &readErr{r: contextReader{ctx, r}}
	if _, err := io.Copy(lf, in); err == nil {
		lf.Flush()
	}
	if in.err != nil {
		cmd.Process.Kill()
		stdin.Close()
		cmd.Wait()
		return fmt.Errorf("deliver: %s stopped: %w", c.Argv[0], in.err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		if msg := strings.TrimSpace(stderr.String()); msg != "" {
			return fmt.Errorf("deliver: %s: %v: %s", c.Argv[0], err, msg)
		}
		return fmt.Errorf("deliver: %s: %v", c.Argv[0], err)
	}
	return nil
}

// readErr remembers the error of reading the message, which io.Copy does
// not tell apart from one writing it.
type readErr struct {
	r   io.Reader
	err error
}

func (e *readErr) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// limitedBuffer keeps the first 4 KiB of a program's stderr for the log.
type limitedBuffer struct{ bytes.Buffer }

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := 4096 - l.Len(); room > 0 {
		l.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// A Command is a destination: the program owns the message once it exits
// 0, so there is nothing to find after a crash, and nothing to sync.

// commandLocation marks a delivery to a program in the ledger.
const commandLocation = "command"

func (c *Command) location(time.Time) string { return commandLocation }
func (c *Command) has(string) bool           { return false }
func (c *Command) discard(string)            {}
func (c *Command) sync() error               { return nil }

func (c *Command) deliver(ctx context.Context, _, key string, redelivery bool, body io.Reader) error {
	return c.Run(ctx, key, redelivery, body)
}
